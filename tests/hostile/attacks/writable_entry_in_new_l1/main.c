/*
 * writable_entry_in_new_l1 — instead of asking for a writable mapping of a page table one
 * entry at a time, write it into a fresh L1 (an ordinary page while it is being filled) and
 * have Xen validate the whole table at once: an L1 that maps itself writable, one that maps
 * my live L3 writable after 8 harmless entries (the references taken for those must be
 * dropped again), and the same table hooked into my top L2 instead of pinned.
 */
#include "common.h"

static void attack(void)
{
    unsigned long frame = spare(0), i;
    volatile uint64_t *page = fresh(frame);

    page[0] = pte(frame, PTE_DATA);   /* itself, writable */
    edit_done();
    check(ext(MMUEXT_PIN_L1_TABLE, frame), -EINVAL, "pin an L1 that maps itself writable");
    check(mmu1(l2e_ma(FREE_L2_VA), pte(frame, L2E_FLAGS)), -EINVAL, "mmu_update(L2 entry -> that L1)");

    page = fresh(frame);
    for (i = 0; i < 8; i++)
        page[i] = pte(spare(1 + i), PTE_DATA);
    page[8] = pte(l3_mfn(), PTE_DATA);  /* my live L3, writable */
    edit_done();
    check(ext(MMUEXT_PIN_L1_TABLE, frame), -EINVAL, "pin an L1 whose 9th entry maps my L3 writable");
    check(mmu1(l2e_ma(FREE_L2_VA), pte(frame, L2E_FLAGS)), -EINVAL, "mmu_update(L2 entry -> that L1)");
    check(mmu_done, 0, "  ...done");
    same(l2e(FREE_L2_VA) == 0, "the L2 entry is still empty");
    check(probe_load(FREE_L2_VA + 8 * 4096), PF_READ_NOT_PRESENT, "a load where it would map my L3 faults");
    check(map(EDIT, pte(frame, PTE_DATA)), 0, "the refused L1 is still an ordinary page (map it writable)");
    page[8] = pte(l3_mfn(), PTE_RO);
    edit_done();
    check(mmu1(l2e_ma(FREE_L2_VA), pte(frame, L2E_FLAGS)), 0, "with my L3 read-only instead it is accepted (control)");
    same(((volatile uint64_t *)(FREE_L2_VA + 8 * 4096))[3] == l3()[3], "  ...and maps my L3 read-only");
    check(probe_store(FREE_L2_VA + 8 * 4096, 0), PF_WRITE_READ_ONLY, "  ...a store to it faults");
    check(mmu1(l2e_ma(FREE_L2_VA), 0), 0, "unhook it");
}
