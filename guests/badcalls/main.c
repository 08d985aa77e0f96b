/*
 * badcalls — the hypervisor's first duty is to survive its guests.  Each
 * check below hands Xen something wrong (a pointer to nothing, into Xen's
 * hole, to read-only memory; an unknown hypercall; a mapping of a frame the
 * domain does not own, or a writable mapping of its own page table) and
 * prints what came back next to what Xen returns.  Last, it drops to ring 3
 * and tries a hypercall from there: the CPU must raise #GP instead.
 */
#include <checks.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

/* Machine frame 0 is always Xen's (the hypervisor never hands it to a domain). */
#define XEN_FRAME_0 0ULL
#include <lib.h>
#include <xen/features.h>
#include <xen/version.h>

#define UNMAPPED   ((void *)0x00400000UL)  /* below the kernel: no L3 entry */
#define HOLE       ((void *)0xF6000000UL)  /* inside Xen's hole (the M2P) */
#define PTE_P_RW_US 7ULL

static unsigned long user_stack[256];
static unsigned long kernel_stack[1024];

void user_hypercall(void);
void gp_entry(void);

/* A hypercall by raw number, bypassing the hypercall page's 128 stubs. */
static long raw_hypercall(unsigned long nr)
{
    long ret;

    asm volatile("int $0x82" : "=a"(ret) : "a"(nr) : "memory");
    return ret;
}

static void pointer_checks(start_info_t *si)
{
    struct sched_shutdown bad_reason = { .reason = 99 };
    struct xen_feature_info features = { .submap_idx = 0 };
    struct xen_platform_parameters params = { 0 };
    unsigned long pt_va = si->pt_base;
    unsigned long pt_pfn = (pt_va - 0xC0000000UL) >> 12;
    uint64_t pt_ma = (uint64_t)((unsigned long *)si->mfn_list)[pt_pfn] << 12;

    check("console_io(write, 5, unmapped buffer)", HYPERVISOR_console_io(CONSOLEIO_write, 5, UNMAPPED), -EFAULT);
    check("console_io(write, 5, buffer in the hole)", HYPERVISOR_console_io(CONSOLEIO_write, 5, HOLE), -EFAULT);
    check("console_io(write, -1, valid buffer)", HYPERVISOR_console_io(CONSOLEIO_write, -1, "x"), -EINVAL);
    check("console_io(read, 16, buffer)", HYPERVISOR_console_io(CONSOLEIO_read, 16, (char *)user_stack), 0);
    check("console_io(cmd 7)", HYPERVISOR_console_io(7, 1, "x"), -ENOSYS);
    check("xen_version(extraversion, unmapped)", HYPERVISOR_xen_version(XENVER_extraversion, UNMAPPED), -EFAULT);
    check("xen_version(extraversion, read-only page)",
          HYPERVISOR_xen_version(XENVER_extraversion, (void *)pt_va), -EFAULT);
    check("xen_version(capabilities, 1 KiB buffer)",
          HYPERVISOR_xen_version(XENVER_capabilities, (void *)kernel_stack), 0);
    check("xen_version(cmd 1000)", HYPERVISOR_xen_version(1000, 0), -ENOSYS);
    check("xen_version(get_features, submap 0)", HYPERVISOR_xen_version(XENVER_get_features, &features), 0);
    check("  ...offers pae_pgdir_above_4gb", (features.submap >> XENFEAT_pae_pgdir_above_4gb) & 1, 1);
    features.submap_idx = 1;
    check("xen_version(get_features, submap 1)", HYPERVISOR_xen_version(XENVER_get_features, &features), -EINVAL);
    check("xen_version(platform_parameters)", HYPERVISOR_xen_version(XENVER_platform_parameters, &params), 0);
    check("  ...virt_start is HYPERVISOR_VIRT_START", params.virt_start == HYPERVISOR_VIRT_START, 1);
    check("set_trap_table(unmapped)", HYPERVISOR_set_trap_table(UNMAPPED), -EFAULT);
    check("sched_op(shutdown, unmapped)", HYPERVISOR_sched_op(SCHEDOP_shutdown, UNMAPPED), -EFAULT);
    check("sched_op(shutdown, reason 99)", HYPERVISOR_sched_op(SCHEDOP_shutdown, &bad_reason), -EINVAL);
    check("sched_op(cmd 77)", HYPERVISOR_sched_op(77, 0), -ENOSYS);
    check("hypercall 11 (no such hypercall)", raw_hypercall(11), -ENOSYS);
    check("hypercall 1000 (beyond the table)", raw_hypercall(1000), -ENOSYS);
    check("vm_assist(enable, pae_extended_cr3)", HYPERVISOR_vm_assist(VMASST_CMD_enable, VMASST_TYPE_pae_extended_cr3), 0);
    check("vm_assist(enable, type 31)", HYPERVISOR_vm_assist(VMASST_CMD_enable, 31), -EINVAL);
    check("update_va_mapping(va in the hole)",
          HYPERVISOR_update_va_mapping(0xF6000000UL, pt_ma | 1, UVMF_INVLPG), -EINVAL);
    check("update_va_mapping(frame owned by Xen)",
          HYPERVISOR_update_va_mapping((unsigned long)user_stack & ~0xfffUL, XEN_FRAME_0 | PTE_P_RW_US, UVMF_INVLPG),
          -EINVAL);
    check("update_va_mapping(own page table, writable)",
          HYPERVISOR_update_va_mapping((unsigned long)user_stack & ~0xfffUL, pt_ma | PTE_P_RW_US, UVMF_INVLPG), -EINVAL);
    check("update_va_mapping(reserved PTE bits)",
          HYPERVISOR_update_va_mapping((unsigned long)user_stack & ~0xfffUL, pt_ma | (1ULL << 60) | 1, UVMF_INVLPG),
          -EINVAL);
    check("update_va_mapping(no L1 for the address)",
          HYPERVISOR_update_va_mapping((unsigned long)UNMAPPED, pt_ma | 1, UVMF_INVLPG), -EINVAL);
    check("update_va_mapping(own page table, read-only)",
          HYPERVISOR_update_va_mapping((unsigned long)user_stack & ~0xfffUL, pt_ma | 5, UVMF_INVLPG), 0);
    check("  ...the page table is now readable there",
          *(volatile unsigned long *)((unsigned long)user_stack & ~0xfffUL) == *(unsigned long *)pt_va, 1);
}

/* Called by gp_entry with the bounce frame Xen built on the kernel stack. */
void ring3_gp(unsigned long *frame)
{
    check("ring 3 int $0x82: #GP error code (0x82<<3|2)", (long)frame[0], 0x412);
    check("ring 3 int $0x82: saved CS is the ring-3 one", (long)(frame[2] & 0xffff), FLAT_RING3_CS);
    check("ring 3 int $0x82: saved SS is the ring-3 one", (long)frame[5], FLAT_RING3_SS);
    checks_done();
}

void start_kernel(start_info_t *si)
{
    static struct trap_info traps[] = {
        { 13, 0, FLAT_RING1_CS, (unsigned long)gp_entry },
        { 0, 0, 0, 0 },
    };
    struct trap_info ring0_handler[] = {
        { 3, 3, 0xe008, (unsigned long)gp_entry }, /* RPL 0: refused */
        { 0, 0, 0, 0 },
    };
    unsigned long *top = &user_stack[ARRAY_SIZE(user_stack)];

    pointer_checks(si);
    check("set_trap_table(handler CS in ring 0)", HYPERVISOR_set_trap_table(ring0_handler), -EPERM);
    check("set_trap_table(#GP handler)", HYPERVISOR_set_trap_table(traps), 0);
    check("stack_switch(ring-1 stack)",
          HYPERVISOR_stack_switch(FLAT_RING1_SS, (unsigned long)&kernel_stack[ARRAY_SIZE(kernel_stack)]), 0);

    /* iret to ring 3: the frame a hardware interrupt return expects. */
    asm volatile("pushl %0\n\tpushl %1\n\tpushl $0x202\n\tpushl %2\n\tpushl %3\n\tiret"
                 : : "i"(FLAT_RING3_SS), "r"(top), "i"(FLAT_RING3_CS), "r"(user_hypercall) : "memory");
    for (;;)
        ;
}
