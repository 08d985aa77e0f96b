/*
 * unpin_never_pinned — UNPIN drops a reference only a pin took.  Unpinning my kernel L1
 * or my top L2 (typed by use, never pinned) would drop a reference their parent table
 * holds, and the tables could be freed or retyped under the running guest.  Refused, as
 * for a data page, a spare frame, Xen's frame and another domain's.
 */
#include "common.h"

static void attack(void)
{
    unsigned long victim = foreign_frame();

    name_frame("foreign", victim);
    check(ext(MMUEXT_UNPIN_TABLE, kernel_l1_mfn()), -EINVAL, "unpin my kernel L1 (typed, not pinned)");
    check(ext(MMUEXT_UNPIN_TABLE, top_l2_mfn()), -EINVAL, "unpin my top L2 (typed, not pinned)");
    check(ext(MMUEXT_UNPIN_TABLE, kernel_data_mfn()), -EINVAL, "unpin a data page of mine");
    check(ext(MMUEXT_UNPIN_TABLE, spare(0)), -EINVAL, "unpin a spare frame of mine");
    check(ext(MMUEXT_UNPIN_TABLE, 0), -EINVAL, "unpin frame 0 (Xen's)");
    check(ext(MMUEXT_UNPIN_TABLE, victim), -EINVAL, "unpin the other domain's frame");
    check(ext(MMUEXT_UNPIN_TABLE, m2p_l1_mfn()), -EINVAL, "unpin the M2P's L1 (Xen's)");
    check(map(SCRATCH, pte(kernel_l1_mfn(), PTE_DATA)), -EINVAL, "my kernel L1 still cannot be mapped writable");
    check(map(SCRATCH, pte(top_l2_mfn(), PTE_DATA)), -EINVAL, "my top L2 still cannot be mapped writable");
}
