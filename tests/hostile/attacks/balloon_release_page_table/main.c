/*
 * balloon_release_page_table — a balloon driver returns frames to Xen with
 * XENMEM_decrease_reservation.  A frame still in use as a page table must not go: Xen
 * would hand it to someone else while my tables still point at it, or while it still maps
 * my memory.  memory_op returns how many extents it released before the first refusal:
 * 0 for a table first in the list, 1 when a free spare frame comes first.
 */
#include "common.h"

static void attack(void)
{
    unsigned long list[2] = { spare(0), kernel_l1_mfn() };
    unsigned long s1 = sum(table(kernel_l1_mfn()), 4096);

    check(release1(l3_mfn()), 0, "decrease_reservation(my live L3)");
    check(release1(top_l2_mfn()), 0, "decrease_reservation(my top L2)");
    check(release1(kernel_l1_mfn()), 0, "decrease_reservation(my kernel L1)");
    check(release(list, 2), 1, "decrease_reservation(a spare frame, then my kernel L1)");
    same(mine(l3_mfn()) && mine(top_l2_mfn()) && mine(kernel_l1_mfn()), "my tables are still mine");
    same(sum(table(kernel_l1_mfn()), 4096) == s1, "  ...and unchanged");
    check(map(SCRATCH, pte(kernel_l1_mfn(), PTE_DATA)), -EINVAL, "  ...and still typed (no writable mapping)");
    check(map(SCRATCH, pte(spare(0), PTE_RO)), -EINVAL, "the spare frame went: it cannot be mapped");
    printk("  ...still running\n");
}
