/*
 * linear_page_table — an L2 entry that points at an L2 (a "linear" or recursive page
 * table) makes that L2 act as an L1: its entries, which point at L1 tables, become
 * mappings of those L1s, writable if the entry says so.  Refused (as by Xen with
 * pv-linear-pt=false): my top L2 in a slot of itself, my L3 in my L2 and in itself, a
 * fresh L2 that points at itself.
 */
#include "common.h"

static void attack(void)
{
    volatile uint64_t *page;

    check(mmu1(l2e_ma(FREE_L2_VA), pte(top_l2_mfn(), PTE_RO)), -EINVAL, "mmu_update(top L2 slot 4 -> my top L2, read-only)");
    check(mmu1(l2e_ma(FREE_L2_VA), pte(top_l2_mfn(), L2E_FLAGS)), -EINVAL, "mmu_update(top L2 slot 4 -> my top L2, writable)");
    check(mmu1(l2e_ma(FREE_L2_VA), pte(l3_mfn(), L2E_FLAGS)), -EINVAL, "mmu_update(top L2 slot 4 -> my L3)");
    check(mmu1(l3e_ma(0), pte(l3_mfn(), PTE_P)), -EINVAL, "mmu_update(L3 slot 0 -> my L3)");
    page = fresh(spare(0));
    page[7] = pte(spare(0), L2E_FLAGS);
    edit_done();
    check(ext(MMUEXT_PIN_L2_TABLE, spare(0)), -EINVAL, "pin a fresh L2 that points at itself");
    same(l2e(FREE_L2_VA) == 0 && l3()[0] == 0, "my tables are unchanged");
}
