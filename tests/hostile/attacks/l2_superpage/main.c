/*
 * l2_superpage — a PSE entry in an L2 maps 2 MiB of machine memory directly, with no L1
 * for Xen to check: from machine address 0 it would cover Xen's frames and other domains'.
 * PV guests get no superpages: refused by mmu_update and when validating a fresh L2.
 */
#include "common.h"

static void attack(void)
{
    volatile uint64_t *page;

    check(mmu1(l2e_ma(FREE_L2_VA), pte(0, PTE_DATA | PTE_PSE)), -EINVAL, "mmu_update(L2 entry: 2 MiB at machine address 0)");
    check(mmu1(l2e_ma(FREE_L2_VA), pte(spare(0) & ~511UL, PTE_DATA | PTE_PSE)), -EINVAL,
          "mmu_update(L2 entry: 2 MiB around a frame of mine)");
    check(mmu1(l2e_ma(FREE_L2_VA), pte(0, PTE_RO | PTE_PSE)), -EINVAL, "mmu_update(L2 entry: 2 MiB at 0, read-only)");
    page = fresh(spare(1));
    page[5] = pte(0, PTE_DATA | PTE_PSE);
    edit_done();
    check(ext(MMUEXT_PIN_L2_TABLE, spare(1)), -EINVAL, "pin a fresh L2 with a superpage entry");
    same(l2e(FREE_L2_VA) == 0, "the L2 entry is still empty");
    check(probe_load(FREE_L2_VA), PF_READ_NOT_PRESENT, "a load there still faults");
}
