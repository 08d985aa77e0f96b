/*
 * pae_l3_slot3_update — Xen never lets a 32-bit PAE guest change slot 3 of an L3 in use
 * (mod_l3_entry refuses it): it holds the L2 with Xen's hole, which must stay valid at
 * every instant.  Pointing it at another valid top L2 and clearing it are both refused.
 */
#include "common.h"

static void attack(void)
{
    unsigned long new_l2 = spare(1);
    uint64_t e3 = l3()[3];
    volatile uint64_t *page;
    int rc;

    page = fresh(new_l2);
    page[0] = top_l2e(0);
    edit_done();
    rc = mmu1(l3e_ma(3), pte(new_l2, PTE_P));
    check(rc, -EINVAL, "mmu_update(L3 slot 3 -> another valid top L2)");
    if (rc == 0)
        mmu1(l3e_ma(3), e3);
    same(l3()[3] == e3, "slot 3 is unchanged");
    rc = mmu1(l3e_ma(3), 0);     /* if this is accepted, the guest loses its own mappings */
    check(rc, -EINVAL, "mmu_update(clear L3 slot 3)");
    same(l3()[3] == e3, "slot 3 is unchanged");
}
