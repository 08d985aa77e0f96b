/*
 * map_other_domains_frame — the M2P is readable by every guest, so a hostile one can find
 * frames that belong to someone else (a valid M2P entry that is not one of its own) and
 * try to map them: as data, read-only or writable, as an L1 under an L2 entry, as an L2
 * under an L3 entry, as a pinned table and as a base pointer.
 */
#include "common.h"

static void attack(void)
{
    unsigned long victim = foreign_frame();
    unsigned long pfn = M2P[victim];

    name_frame("foreign", victim);
    check(map(SCRATCH, pte(victim, PTE_RO)), -EINVAL, "update_va_mapping(its frame, read-only)");
    check(map(SCRATCH, pte(victim, PTE_DATA)), -EINVAL, "update_va_mapping(its frame, writable)");
    check(mmu1(l1e_ma(SCRATCH), pte(victim, PTE_DATA)), -EINVAL, "mmu_update(L1 entry -> its frame)");
    check(mmu1(l2e_ma(FREE_L2_VA), pte(victim, L2E_FLAGS)), -EINVAL, "mmu_update(L2 entry -> its frame as an L1)");
    check(mmu1(l3e_ma(0), pte(victim, PTE_P)), -EINVAL, "mmu_update(L3 entry -> its frame as an L2)");
    check(ext(MMUEXT_PIN_L1_TABLE, victim), -EINVAL, "pin its frame as an L1");
    check(ext(MMUEXT_PIN_L3_TABLE, victim), -EINVAL, "pin its frame as an L3");
    check(ext(MMUEXT_NEW_BASEPTR, victim), -EINVAL, "NEW_BASEPTR to its frame");
    same(l1e(SCRATCH) == 0 && l2e(FREE_L2_VA) == 0 && l3()[0] == 0, "my page tables are unchanged");
    same(M2P[victim] == pfn, "its M2P entry is unchanged");
}
