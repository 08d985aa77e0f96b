/*
 * copy_page_onto_page_tables — MMUEXT_COPY_PAGE copies a whole frame inside Xen.  As a
 * destination, a page table would be rewritten unchecked; as a source, a frame of Xen's or
 * of another domain would leak into mine.  Both refused; copying my own data page into a
 * spare one works (the control).
 */
#include "common.h"

static void attack(void)
{
    unsigned long victim = foreign_frame(), dst = spare(0);
    unsigned long s3, s1, zero;

    name_frame("foreign", victim);
    check(map(SCRATCH, pte(dst, PTE_RO)), 0, "map a spare page read-only to watch it");
    zero = sum((const volatile void *)SCRATCH, 4096);
    s3 = sum(l3(), 4096);
    s1 = sum(table(kernel_l1_mfn()), 4096);
    check(ext2(MMUEXT_COPY_PAGE, l3_mfn(), dst), -EINVAL, "COPY_PAGE(onto my L3)");
    check(ext2(MMUEXT_COPY_PAGE, kernel_l1_mfn(), dst), -EINVAL, "COPY_PAGE(onto my kernel L1)");
    check(ext2(MMUEXT_COPY_PAGE, dst, 0), -EINVAL, "COPY_PAGE(from frame 0, Xen's)");
    check(ext2(MMUEXT_COPY_PAGE, dst, m2p_l1_mfn()), -EINVAL, "COPY_PAGE(from the M2P's L1, Xen's)");
    check(ext2(MMUEXT_COPY_PAGE, dst, victim), -EINVAL, "COPY_PAGE(from the other domain's frame)");
    check(ext2(MMUEXT_COPY_PAGE, 0, dst), -EINVAL, "COPY_PAGE(onto frame 0, Xen's)");
    check(ext2(MMUEXT_COPY_PAGE, victim, dst), -EINVAL, "COPY_PAGE(onto the other domain's frame)");
    same(sum((const volatile void *)SCRATCH, 4096) == zero, "the spare page is still all zero");
    same(sum(l3(), 4096) == s3 && sum(table(kernel_l1_mfn()), 4096) == s1, "my page tables are unchanged");
    check(ext2(MMUEXT_COPY_PAGE, dst, kernel_data_mfn()), 0, "COPY_PAGE(my data page into the spare one) (control)");
    same(sum((const volatile void *)SCRATCH, 4096) == sum((const volatile void *)VIRT_BASE, 4096), "  ...copied");
    check(map(SCRATCH, 0), 0, "unmap the spare page");
}
