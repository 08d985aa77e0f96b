/*
 * ring0_trap_handler — a trap-table entry names the code segment its handler runs in; a
 * ring-0 selector would run guest code with the hypervisor's privilege.  xenlab refuses
 * such an entry with -EPERM (ARCHITECTURE.md: Xen 3 silently raises the RPL to 1 instead);
 * my own handlers stay installed.
 */
#include "common.h"

static void attack(void)
{
    struct trap_info ring0[] = {
        { 14, 0, 0xe008, (unsigned long)hostile_pf_entry },
        { 0, 0, 0, 0 },
    };
    struct trap_info ring0_int[] = {
        { 0x80, 3, 0xe008, (unsigned long)hostile_gp_entry },
        { 0, 0, 0, 0 },
    };

    check(HYPERVISOR_set_trap_table(ring0), -EPERM, "set_trap_table(#PF handler in ring 0)");
    check(HYPERVISOR_set_trap_table(ring0_int), -EPERM, "set_trap_table(int $0x80 handler in ring 0)");
    check(probe_load(SCRATCH), PF_READ_NOT_PRESENT, "my #PF handler still catches faults");
    same(faulted_at(SCRATCH), "  ...cr2 is the address");
}
