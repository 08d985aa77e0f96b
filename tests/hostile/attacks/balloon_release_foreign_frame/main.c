/*
 * balloon_release_foreign_frame — decrease_reservation releases my frames only; a frame
 * of Xen's or of the domain beside me would be freed under its owner, a free one freed
 * twice.  Each is refused (0 extents released); so is a list that names my own spare frame
 * twice, after the first.
 */
#include "common.h"

static void attack(void)
{
    unsigned long victim = foreign_frame(), frame = free_frame(), victim_pfn = M2P[victim];
    unsigned long twice[2] = { spare(0), spare(0) };

    name_frame("foreign", victim);
    name_frame("free", frame);
    name_frame("xen", m2p_l1_mfn());
    check(release1(0), 0, "decrease_reservation(frame 0, Xen's)");
    check(release1(m2p_l1_mfn()), 0, "decrease_reservation(the M2P's L1, Xen's)");
    check(release1(victim), 0, "decrease_reservation(the other domain's frame)");
    check(release1(frame), 0, "decrease_reservation(a free frame)");
    check(release1(BEYOND_MFN), 0, "decrease_reservation(a frame beyond memory)");
    same(M2P[victim] == victim_pfn && M2P[frame] == M2P_INVALID, "the M2P is unchanged");
    check(release(twice, 2), 1, "decrease_reservation(my spare frame, twice)");
    check(map(SCRATCH, pte(spare(0), PTE_RO)), -EINVAL, "  ...it went, once");
}
