/*
 * unpin_live_base_pointer — unpinning the L3 the vCPU is running on is allowed and safe:
 * the base pointer holds its own reference, so the tables stay validated and typed.  The
 * guest keeps running (it prints, reads, makes hypercalls); the L3 still cannot be mapped
 * writable; a second unpin is refused; pinning it again works.
 */
#include "common.h"

static void attack(void)
{
    unsigned long cr3_frame = l3_mfn();
    unsigned long before = sum(l3(), 32);

    check(ext(MMUEXT_UNPIN_TABLE, cr3_frame), 0, "unpin my live L3");
    printk("  ...still running\n");
    same(sum(l3(), 32) == before && M2P[mfn_of(0)] == 0, "  ...my tables and the M2P still read the same");
    check(map(SCRATCH, pte(cr3_frame, PTE_DATA)), -EINVAL, "update_va_mapping(my live L3, writable)");
    check(ext(MMUEXT_CLEAR_PAGE, cr3_frame), -EINVAL, "CLEAR_PAGE of my live L3");
    check(ext(MMUEXT_UNPIN_TABLE, cr3_frame), -EINVAL, "unpin it again");
    check(ext(MMUEXT_NEW_BASEPTR, cr3_frame), 0, "NEW_BASEPTR to it (reload)");
    check(ext(MMUEXT_PIN_L3_TABLE, cr3_frame), 0, "pin it again");
    same(sum(l3(), 32) == before, "my L3 is unchanged");
}
