/*
 * xen_l2_at_another_slot — the L2 under L3 slot 3 holds Xen's hole.  Used under another
 * slot it would be an ordinary L2 whose slots 428-511 are unchecked guest entries — and
 * Xen's own entries there would be reachable at a second address.  It may appear only at
 * slot 3: refused in slot 0 of my live L3, of a new L3, and as a pinned plain L2.
 */
#include "common.h"

static void attack(void)
{
    unsigned long new_l3 = spare(0), new_l2 = spare(1);
    volatile uint64_t *page;

    check(mmu1(l3e_ma(0), pte(top_l2_mfn(), PTE_P)), -EINVAL, "mmu_update(L3 slot 0 -> my top L2)");
    check(ext(MMUEXT_PIN_L2_TABLE, top_l2_mfn()), -EINVAL, "pin my top L2 as a plain L2");
    build_address_space(new_l3, new_l2, PTE_P);
    page = edit(new_l3);
    page[0] = pte(top_l2_mfn(), PTE_P);
    edit_done();
    check(ext(MMUEXT_PIN_L3_TABLE, new_l3), -EINVAL, "pin a new L3 with my top L2 in slot 0");
    same(l3()[0] == 0, "my live L3 is unchanged");
}
