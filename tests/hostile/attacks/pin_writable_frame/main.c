/*
 * pin_writable_frame — build a page table in a frame mapped writable, keep a writable
 * mapping, and ask Xen to make it a table.  The frame's type is "writable" while any
 * writable mapping exists, so it can become no table at all (L1, L2, L3, base pointer).
 * Two writable mappings, one removed: still writable.  Both removed: the pin works.
 */
#include "common.h"

static void attack(void)
{
    unsigned long frame = spare(0);
    volatile uint64_t *page;

    check(map(SCRATCH, pte(frame, PTE_DATA)), 0, "map a spare frame writable");
    page = (volatile uint64_t *)SCRATCH;
    page[0] = pte(spare(1), PTE_DATA);   /* an innocent entry: a data page */
    check(map(SCRATCH + 4096, pte(frame, PTE_DATA)), 0, "map it writable a second time");
    check(ext(MMUEXT_PIN_L1_TABLE, frame), -EINVAL, "pin it as an L1");
    check(ext(MMUEXT_PIN_L2_TABLE, frame), -EINVAL, "pin it as an L2");
    check(ext(MMUEXT_PIN_L3_TABLE, frame), -EINVAL, "pin it as an L3");
    check(ext(MMUEXT_NEW_BASEPTR, frame), -EINVAL, "NEW_BASEPTR to it");
    check(mmu1(l2e_ma(FREE_L2_VA), pte(frame, L2E_FLAGS)), -EINVAL, "mmu_update(L2 entry -> it as an L1)");
    check(map(SCRATCH, 0), 0, "unmap the first writable mapping");
    check(ext(MMUEXT_PIN_L1_TABLE, frame), -EINVAL, "pin it as an L1 (still writable at the second)");
    check(probe_store(SCRATCH + 4096 + 8 * 100, 0), NO_FAULT, "  ...the second mapping still takes stores");
    check(ext(MMUEXT_UNPIN_TABLE, frame), -EINVAL, "unpin it (it was never pinned)");
    same(l2e(FREE_L2_VA) == 0, "the L2 entry is still empty");
    check(map(SCRATCH + 4096, 0), 0, "unmap the second writable mapping");
    check(ext(MMUEXT_PIN_L1_TABLE, frame), 0, "pin it as an L1 now (control)");
    check(map(SCRATCH, pte(frame, PTE_DATA)), -EINVAL, "  ...and now it cannot be mapped writable");
    check(ext(MMUEXT_UNPIN_TABLE, frame), 0, "unpin it");
}
