/*
 * map_free_frame — a frame above all of mine whose M2P entry is 0xFFFFFFFF belongs to
 * nobody (yet): it may be handed to another domain tomorrow, with whatever this guest
 * wrote into it.  Mapping it, using it as a table or claiming it in the M2P is refused.
 */
#include "common.h"

static void attack(void)
{
    unsigned long frame = free_frame();

    name_frame("free", frame);
    check(map(SCRATCH, pte(frame, PTE_RO)), -EINVAL, "update_va_mapping(a free frame, read-only)");
    check(map(SCRATCH, pte(frame, PTE_DATA)), -EINVAL, "update_va_mapping(a free frame, writable)");
    check(mmu1(l1e_ma(SCRATCH), pte(frame, PTE_DATA)), -EINVAL, "mmu_update(L1 entry -> a free frame)");
    check(mmu1(l2e_ma(FREE_L2_VA), pte(frame, L2E_FLAGS)), -EINVAL, "mmu_update(L2 entry -> a free frame as an L1)");
    check(ext(MMUEXT_PIN_L1_TABLE, frame), -EINVAL, "pin a free frame as an L1");
    check(ext(MMUEXT_CLEAR_PAGE, frame), -EINVAL, "CLEAR_PAGE of a free frame");
    check(mmu1(pte(frame, 0) | MMU_MACHPHYS_UPDATE, 5), -EINVAL, "mmu_update(M2P entry of a free frame)");
    same(l1e(SCRATCH) == 0 && l2e(FREE_L2_VA) == 0, "my page tables are unchanged");
    same(M2P[frame] == M2P_INVALID, "its M2P entry is still invalid");
}
