/*
 * cpuops — two CPU hypercalls of Table 1.  fpu_taskswitch(1) is the guest's
 * stts: its next FPU instruction raises #NM, which Xen delivers (clearing TS
 * as it does), so a kernel can switch FPU state lazily.  The iret hypercall
 * returns through Xen, restoring the virtual interrupt flag from EFLAGS.IF.
 */
#include <checks.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

void nm_entry(void);
unsigned long nm_count;

asm(".text\n"
    "nm_entry:\n"
    "    incl nm_count\n"
    "    iret\n");               /* #NM has no error code; the fninit re-runs */

void start_kernel(start_info_t *si)
{
    static struct trap_info traps[] = {
        { 7, 0, FLAT_RING1_CS, (unsigned long)nm_entry },
        { 0, 0, 0, 0 },
    };
    unsigned long eax;

    map_shared_info(si);
    check("set_trap_table(#NM)", HYPERVISOR_set_trap_table(traps), 0);
    check("fpu_taskswitch(1): the next FPU use traps", HYPERVISOR_fpu_taskswitch(1), 0);
    asm volatile("fninit" ::: "memory");
    check("  ...#NM arrived once, then the FPU worked", (long)nm_count, 1);
    asm volatile("fninit" ::: "memory");
    check("  ...Xen cleared TS: no second #NM", (long)nm_count, 1);

    HYPERVISOR_shared_info->vcpu_info[0].evtchn_upcall_mask = 1;
    asm volatile("pushl $0x202\n\t"                 /* EFLAGS with IF: events back on */
                 "pushl %[cs]\n\t"
                 "pushl $1f\n\t"
                 "movl $0x1234, %%eax\n\t"
                 "jmp hypercall_page + 23 * 32\n"   /* its stub pushes EAX, int $0x82 */
                 "1:"
                 : "=a"(eax) : [cs] "i"(FLAT_RING1_CS) : "memory", "cc");
    check("iret hypercall: back with EAX restored", (long)eax, 0x1234);
    check("  ...and events unmasked from EFLAGS.IF",
          HYPERVISOR_shared_info->vcpu_info[0].evtchn_upcall_mask, 0);
    checks_done();
}
