/*
 * balloon_release_mapped_frame — a frame still mapped anywhere is still referenced; were
 * it released, its next owner's data would show through my mapping (or mine through
 * theirs).  Refused for a spare frame I mapped read-only and writable, for the shared_info
 * page, my console ring and the first page of my own code; each stays mapped and mine.
 */
#include "common.h"

static void attack(void)
{
    unsigned long frame = spare(0);
    unsigned long code = kernel_data_mfn(), console = si->console.domU.mfn;

    check(map(SCRATCH, pte(frame, PTE_RO)), 0, "map a spare frame read-only");
    check(release1(frame), 0, "decrease_reservation(it)");
    check(map(SCRATCH + 4096, pte(frame, PTE_DATA)), 0, "map it writable too");
    check(release1(frame), 0, "decrease_reservation(it)");
    check(probe_store(SCRATCH + 4096, 0x5a5a), NO_FAULT, "  ...the writable mapping still works");
    same(*(volatile unsigned long *)SCRATCH == 0x5a5a, "  ...and so does the read-only one");
    check(release1((unsigned long)(si->shared_info >> 12)), 0, "decrease_reservation(the shared_info page)");
    check(release1(console), 0, "decrease_reservation(my console ring page)");
    check(release1(code), 0, "decrease_reservation(the first page of my code)");
    same(mine(frame) && mine(console) && mine(code), "all still mine");
    printk("  ...still running\n");
}
