/*
 * clear_page_on_page_tables — MMUEXT_CLEAR_PAGE zeroes a frame inside Xen, bypassing the
 * page tables; it must treat the frame as a writable mapping would.  Refused for my L3,
 * top L2 and kernel L1 (the guest would lose everything, and Xen's counts would lie), and
 * for frames that are Xen's, the other domain's or nobody's.
 */
#include "common.h"

static void attack(void)
{
    unsigned long victim = foreign_frame(), frame = free_frame();
    unsigned long s3 = sum(l3(), 4096), s2 = sum(table(top_l2_mfn()), 4096), s1 = sum(table(kernel_l1_mfn()), 4096);

    name_frame("foreign", victim);
    name_frame("free", frame);
    check(ext(MMUEXT_CLEAR_PAGE, l3_mfn()), -EINVAL, "CLEAR_PAGE(my L3)");
    check(ext(MMUEXT_CLEAR_PAGE, top_l2_mfn()), -EINVAL, "CLEAR_PAGE(my top L2)");
    check(ext(MMUEXT_CLEAR_PAGE, kernel_l1_mfn()), -EINVAL, "CLEAR_PAGE(my kernel L1)");
    check(ext(MMUEXT_CLEAR_PAGE, 0), -EINVAL, "CLEAR_PAGE(frame 0, Xen's)");
    check(ext(MMUEXT_CLEAR_PAGE, m2p_l1_mfn()), -EINVAL, "CLEAR_PAGE(the M2P's L1, Xen's)");
    check(ext(MMUEXT_CLEAR_PAGE, victim), -EINVAL, "CLEAR_PAGE(the other domain's frame)");
    check(ext(MMUEXT_CLEAR_PAGE, frame), -EINVAL, "CLEAR_PAGE(a free frame)");
    same(sum(l3(), 4096) == s3 && sum(table(top_l2_mfn()), 4096) == s2 && sum(table(kernel_l1_mfn()), 4096) == s1,
         "my page tables are unchanged");
    check(probe_load(MACH2PHYS_VIRT_START), NO_FAULT, "the M2P is still mapped");
}
