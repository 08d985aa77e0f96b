/*
 * foreign_mmu_update — foreigndom lets a privileged domain (the domain builder) update
 * another domain's tables.  From an unprivileged domain: -EPERM, before any request is
 * looked at, whether the request is harmless or not, and for DOMID_XEN too.
 */
#include "common.h"

static void attack(void)
{
    struct mmu_update req = { .ptr = l1e_ma(SCRATCH), .val = 0 };
    unsigned long victim = victim_domid();
    int done = -1;

    check(HYPERVISOR_mmu_update(&req, 1, &done, victim), -EPERM, "mmu_update(a no-op, foreigndom = the other domain)");
    check(done, -1, "  ...done was not written");
    req.val = pte(spare(0), PTE_DATA);
    check(HYPERVISOR_mmu_update(&req, 1, &done, victim), -EPERM, "mmu_update(a mapping, foreigndom = the other domain)");
    check(HYPERVISOR_mmu_update(&req, 1, &done, DOMID_XEN), -EPERM, "mmu_update(a mapping, foreigndom = DOMID_XEN)");
    req.ptr = pte(mfn_of(0), 0) | MMU_MACHPHYS_UPDATE;
    req.val = 0;
    check(HYPERVISOR_mmu_update(&req, 1, &done, victim), -EPERM, "mmu_update(an M2P update, foreigndom = the other domain)");
    same(l1e(SCRATCH) == 0, "the scratch PTE is still empty");
}
