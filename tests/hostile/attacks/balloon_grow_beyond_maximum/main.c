/*
 * balloon_grow_beyond_maximum — a domain may grow only up to its maximum reservation
 * (here: what it booted with).  At the maximum, increase_reservation gives 0 extents,
 * however many were asked for.  After giving one frame back, asking for
 * two gives one (the control), and that frame is really mine.
 */
#include "common.h"

static void attack(void)
{
    static unsigned long got[1000];

    check(reservation(XENMEM_increase_reservation, got, 1, 0, DOMID_SELF), 0, "increase_reservation(1 frame) at my maximum");
    check(reservation(XENMEM_increase_reservation, got, 1000, 0, DOMID_SELF), 0, "increase_reservation(1000 frames)");
    check(release1(spare(0)), 1, "decrease_reservation(a spare frame)");
    check(reservation(XENMEM_increase_reservation, got, 2, 0, DOMID_SELF), 1, "increase_reservation(2 frames) (control)");
    check(map(SCRATCH, pte(got[0], PTE_DATA)), 0, "  ...the new frame is mine: map it");
    check(probe_load(SCRATCH), NO_FAULT, "  ...and read it");
    check(map(SCRATCH, 0), 0, "  ...unmap it");
    check(reservation(XENMEM_increase_reservation, got, 1, 0, DOMID_SELF), 0, "increase_reservation(1 frame) at my maximum again");
}
