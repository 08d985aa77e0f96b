/*
 * m2p_update_foreign — MMU_MACHPHYS_UPDATE sets the M2P entry of a frame: only of a frame
 * I own.  Another domain's entry would lie to it (and to every tool) about its own memory.
 * Refused for the other domain's frame, Xen's frames and a free frame.
 */
#include "common.h"

static void attack(void)
{
    unsigned long victim = foreign_frame(), frame = free_frame(), m2p_l1 = m2p_l1_mfn();
    unsigned long victim_pfn = M2P[victim];

    name_frame("foreign", victim);
    name_frame("free", frame);
    name_frame("xen", m2p_l1);
    check(mmu1(pte(victim, 0) | MMU_MACHPHYS_UPDATE, 7), -EINVAL, "M2P update of the other domain's frame");
    check(mmu1(pte(0, 0) | MMU_MACHPHYS_UPDATE, 7), -EINVAL, "M2P update of frame 0 (Xen's)");
    check(mmu1(pte(m2p_l1, 0) | MMU_MACHPHYS_UPDATE, 7), -EINVAL, "M2P update of the M2P's L1 (Xen's)");
    check(mmu1(pte(frame, 0) | MMU_MACHPHYS_UPDATE, 7), -EINVAL, "M2P update of a free frame");
    same(M2P[victim] == victim_pfn, "the other domain's M2P entry is unchanged");
    same(M2P[0] == M2P_INVALID && M2P[m2p_l1] == M2P_INVALID && M2P[frame] == M2P_INVALID, "the others are still invalid");
    check(mmu1(pte(spare(0), 0) | MMU_MACHPHYS_UPDATE, si->nr_pages - 1), 0, "M2P update of my own frame (control)");
}
