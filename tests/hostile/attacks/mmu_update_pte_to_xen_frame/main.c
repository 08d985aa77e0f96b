/*
 * mmu_update_pte_to_xen_frame — the same as map_xen_frame, but by writing the entries
 * directly with mmu_update at every level: an L1 entry for Xen's frame 0 and for the
 * M2P's L1, an L2 entry that would use the M2P's L1 as one of mine (mapping the M2P
 * frames with my own flags), and an L3 entry that would use frame 0 as an L2.
 */
#include "common.h"

static void attack(void)
{
    unsigned long m2p_l1 = m2p_l1_mfn();

    name_frame("xen", 0);
    name_frame("xen", m2p_l1);
    check(mmu1(l1e_ma(SCRATCH), pte(0, PTE_RO)), -EINVAL, "mmu_update(L1 entry -> frame 0, read-only)");
    check(mmu_done, 0, "  ...done");
    check(mmu1(l1e_ma(SCRATCH), pte(0, PTE_DATA)), -EINVAL, "mmu_update(L1 entry -> frame 0, writable)");
    check(mmu1(l1e_ma(SCRATCH) | MMU_PT_UPDATE_PRESERVE_AD, pte(0, PTE_DATA)), -EINVAL,
          "mmu_update(L1 entry -> frame 0, writable, PRESERVE_AD)");
    check(mmu1(l1e_ma(SCRATCH), pte(m2p_l1, PTE_DATA)), -EINVAL, "mmu_update(L1 entry -> the M2P's L1, writable)");
    check(mmu1(l2e_ma(FREE_L2_VA), pte(m2p_l1, L2E_FLAGS)), -EINVAL, "mmu_update(L2 entry -> the M2P's L1)");
    check(mmu_done, 0, "  ...done");
    check(mmu1(l3e_ma(0), pte(0, PTE_P)), -EINVAL, "mmu_update(L3 entry -> frame 0 as an L2)");
    same(l1e(SCRATCH) == 0, "the L1 entry is still empty");
    same(l2e(FREE_L2_VA) == 0, "the L2 entry is still empty");
    same(l3()[0] == 0, "the L3 entry is still empty");
    check(probe_load(FREE_L2_VA), PF_READ_NOT_PRESENT, "a load through the L2 slot still faults");
}
