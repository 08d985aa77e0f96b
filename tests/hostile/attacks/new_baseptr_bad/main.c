/*
 * new_baseptr_bad — NEW_BASEPTR is the guest's "mov to CR3": it must name a frame that is
 * mine and validates as an L3.  Tried with a writable data page, my kernel L1, my top L2,
 * frame 0, the M2P's L1, the other domain's frame, a free frame and a frame beyond
 * memory.  The vCPU stays on its address space throughout.
 */
#include "common.h"

static void attack(void)
{
    unsigned long victim = foreign_frame(), frame = free_frame();
    unsigned long before = sum(l3(), 32);

    name_frame("foreign", victim);
    name_frame("free", frame);
    check(ext(MMUEXT_NEW_BASEPTR, kernel_data_mfn()), -EINVAL, "NEW_BASEPTR to a writable data page");
    check(ext(MMUEXT_NEW_BASEPTR, kernel_l1_mfn()), -EINVAL, "NEW_BASEPTR to my kernel L1");
    check(ext(MMUEXT_NEW_BASEPTR, top_l2_mfn()), -EINVAL, "NEW_BASEPTR to my top L2");
    check(ext(MMUEXT_NEW_BASEPTR, 0), -EINVAL, "NEW_BASEPTR to frame 0 (Xen's)");
    check(ext(MMUEXT_NEW_BASEPTR, m2p_l1_mfn()), -EINVAL, "NEW_BASEPTR to the M2P's L1 (Xen's)");
    check(ext(MMUEXT_NEW_BASEPTR, victim), -EINVAL, "NEW_BASEPTR to the other domain's frame");
    check(ext(MMUEXT_NEW_BASEPTR, frame), -EINVAL, "NEW_BASEPTR to a free frame");
    check(ext(MMUEXT_NEW_BASEPTR, BEYOND_MFN), -EINVAL, "NEW_BASEPTR to a frame beyond memory");
    same(sum(l3(), 32) == before && M2P[mfn_of(0)] == 0, "still on my own address space");
    check(ext(MMUEXT_PIN_L3_TABLE, l3_mfn()), -EINVAL, "  ...whose L3 is still pinned");
}
