/*
 * hypercall.h — HYPERVISOR_<name>() wrappers: how C code asks Xen for a
 * privileged operation (paper §2.1.2, §3.1: hypercalls are synchronous
 * traps into the hypervisor).
 *
 * Each wrapper calls stub `nr` of the hypercall page (offset nr * 32),
 * which the domain builder filled with `mov $nr,%eax; int $0x82; ret`.
 * Going through the page rather than inlining `int $0x82` lets the
 * hypervisor choose the trap mechanism. Arguments travel in EBX, ECX, EDX,
 * ESI, EDI and the result (>= 0, or -errno) comes back in EAX.
 *
 * Xen may clobber all five argument registers (a debug Xen deliberately
 * scribbles on the unused ones), so every wrapper declares all five as
 * outputs, as Linux does. "memory" because Xen reads and writes guest
 * buffers behind the compiler's back.
 */
#ifndef __HYPERCALL_H__
#define __HYPERCALL_H__

#include <stdint.h>
#include <xen/xen.h>
#include <xen/errno.h>

extern char hypercall_page[4096];

#define _hypercall(type, name, a1, a2, a3, a4, a5)                       \
({                                                                       \
    long __res, __b, __c, __d, __S, __D;                                 \
    asm volatile ("call hypercall_page + %c[offset]"                     \
                  : "=a" (__res), "=b" (__b), "=c" (__c), "=d" (__d),    \
                    "=S" (__S), "=D" (__D)                               \
                  : [offset] "i" (__HYPERVISOR_##name * 32),             \
                    "1" ((long)(a1)), "2" ((long)(a2)),                  \
                    "3" ((long)(a3)), "4" ((long)(a4)),                  \
                    "5" ((long)(a5))                                     \
                  : "memory", "cc");                                     \
    (type)__res;                                                         \
})

#define _hypercall0(type, name)                 _hypercall(type, name, 0, 0, 0, 0, 0)
#define _hypercall1(type, name, a1)             _hypercall(type, name, a1, 0, 0, 0, 0)
#define _hypercall2(type, name, a1, a2)         _hypercall(type, name, a1, a2, 0, 0, 0)
#define _hypercall3(type, name, a1, a2, a3)     _hypercall(type, name, a1, a2, a3, 0, 0)
#define _hypercall4(type, name, a1, a2, a3, a4) _hypercall(type, name, a1, a2, a3, a4, 0)
#define _hypercall5(type, name, a1, a2, a3, a4, a5) _hypercall(type, name, a1, a2, a3, a4, a5)

struct trap_info;
struct mmu_update;
struct mmuext_op;
struct multicall_entry;

/* Install the virtual IDT: an array ended by an entry with address 0. */
static inline int HYPERVISOR_set_trap_table(const struct trap_info *table)
{
    return _hypercall1(int, set_trap_table, table);
}

/* Validated page-table writes (paper §3.3.3). */
static inline int HYPERVISOR_mmu_update(struct mmu_update *req, int count,
                                        int *success_count, domid_t domid)
{
    return _hypercall4(int, mmu_update, req, count, success_count, domid);
}

static inline int HYPERVISOR_mmuext_op(struct mmuext_op *op, int count,
                                       int *success_count, domid_t domid)
{
    return _hypercall4(int, mmuext_op, op, count, success_count, domid);
}

static inline int HYPERVISOR_set_gdt(unsigned long *frame_list, int entries)
{
    return _hypercall2(int, set_gdt, frame_list, entries);
}

/* The ring-1 stack Xen switches to on a trap from ring 3 (TSS.ss1/esp1). */
static inline int HYPERVISOR_stack_switch(unsigned long ss, unsigned long esp)
{
    return _hypercall2(int, stack_switch, ss, esp);
}

static inline int HYPERVISOR_set_callbacks(unsigned long event_cs, unsigned long event_eip,
                                           unsigned long failsafe_cs, unsigned long failsafe_eip)
{
    return _hypercall4(int, set_callbacks, event_cs, event_eip, failsafe_cs, failsafe_eip);
}

static inline int HYPERVISOR_fpu_taskswitch(int set)
{
    return _hypercall1(int, fpu_taskswitch, set);
}

static inline int HYPERVISOR_sched_op(int cmd, void *arg)
{
    return _hypercall2(int, sched_op, cmd, arg);
}

/* One-shot timer at an absolute system time in ns; a u64 in two registers. */
static inline long HYPERVISOR_set_timer_op(uint64_t timeout)
{
    return _hypercall2(long, set_timer_op, (uint32_t)timeout, (uint32_t)(timeout >> 32));
}

static inline int HYPERVISOR_set_debugreg(int reg, unsigned long value)
{
    return _hypercall2(int, set_debugreg, reg, value);
}

static inline unsigned long HYPERVISOR_get_debugreg(int reg)
{
    return _hypercall1(unsigned long, get_debugreg, reg);
}

/* Write one GDT/LDT descriptor at machine address ma (both u64, split). */
static inline int HYPERVISOR_update_descriptor(uint64_t ma, uint64_t desc)
{
    return _hypercall4(int, update_descriptor, (uint32_t)ma, (uint32_t)(ma >> 32),
                       (uint32_t)desc, (uint32_t)(desc >> 32));
}

static inline int HYPERVISOR_memory_op(unsigned int cmd, void *arg)
{
    return _hypercall2(int, memory_op, cmd, arg);
}

static inline int HYPERVISOR_multicall(struct multicall_entry *calls, int nr_calls)
{
    return _hypercall2(int, multicall, calls, nr_calls);
}

/*
 * Set the PTE that maps va, validated like mmu_update, then flush per
 * flags (UVMF_*). The 64-bit PAE pte goes low half in ECX, high in EDX.
 */
static inline int HYPERVISOR_update_va_mapping(unsigned long va, uint64_t pte,
                                               unsigned long flags)
{
    return _hypercall4(int, update_va_mapping, va, (uint32_t)pte,
                       (uint32_t)(pte >> 32), flags);
}

static inline int HYPERVISOR_update_va_mapping_otherdomain(unsigned long va, uint64_t pte,
                                                           unsigned long flags, domid_t domid)
{
    return _hypercall5(int, update_va_mapping_otherdomain, va, (uint32_t)pte,
                       (uint32_t)(pte >> 32), flags, domid);
}

static inline int HYPERVISOR_xen_version(int cmd, void *arg)
{
    return _hypercall2(int, xen_version, cmd, arg);
}

/* Xen's own console (CONSOLEIO_write / CONSOLEIO_read). */
static inline int HYPERVISOR_console_io(int cmd, int count, char *str)
{
    return _hypercall3(int, console_io, cmd, count, str);
}

static inline int HYPERVISOR_grant_table_op(unsigned int cmd, void *uop, unsigned int count)
{
    return _hypercall3(int, grant_table_op, cmd, uop, count);
}

static inline int HYPERVISOR_vm_assist(unsigned int cmd, unsigned int type)
{
    return _hypercall2(int, vm_assist, cmd, type);
}

static inline int HYPERVISOR_vcpu_op(int cmd, int vcpuid, void *extra_args)
{
    return _hypercall3(int, vcpu_op, cmd, vcpuid, extra_args);
}

static inline int HYPERVISOR_nmi_op(unsigned long op, void *arg)
{
    return _hypercall2(int, nmi_op, op, arg);
}

static inline int HYPERVISOR_callback_op(int cmd, void *arg)
{
    return _hypercall2(int, callback_op, cmd, arg);
}

static inline int HYPERVISOR_event_channel_op(int cmd, void *op)
{
    return _hypercall2(int, event_channel_op, cmd, op);
}

static inline int HYPERVISOR_physdev_op(int cmd, void *arg)
{
    return _hypercall2(int, physdev_op, cmd, arg);
}

static inline int HYPERVISOR_platform_op(void *op)
{
    return _hypercall1(int, platform_op, op);
}

static inline int HYPERVISOR_sysctl(void *op)
{
    return _hypercall1(int, sysctl, op);
}

static inline int HYPERVISOR_domctl(void *op)
{
    return _hypercall1(int, domctl, op);
}

#endif /* __HYPERCALL_H__ */
