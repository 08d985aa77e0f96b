/*
 * pin_twice — a second pin of the same frame is refused (Xen keeps one pin bit), else
 * one unpin would leave it pinned and a pin count could be overflowed.  Pinning a table as
 * a type it does not have is refused too.
 */
#include "common.h"

static void attack(void)
{
    unsigned long l1 = kernel_l1_mfn();

    check(ext(MMUEXT_PIN_L3_TABLE, l3_mfn()), -EINVAL, "pin my L3 again (the builder pinned it)");
    check(ext(MMUEXT_PIN_L2_TABLE, l3_mfn()), -EINVAL, "pin my L3 as an L2");
    check(ext(MMUEXT_PIN_L1_TABLE, l1), 0, "pin my kernel L1 (control)");
    check(ext(MMUEXT_PIN_L1_TABLE, l1), -EINVAL, "pin it again");
    check(ext(MMUEXT_PIN_L2_TABLE, l1), -EINVAL, "pin it as an L2");
    check(ext(MMUEXT_PIN_L3_TABLE, l1), -EINVAL, "pin it as an L3");
    check(ext(MMUEXT_UNPIN_TABLE, l1), 0, "unpin it");
    check(ext(MMUEXT_UNPIN_TABLE, l1), -EINVAL, "unpin it again");
    check(map(SCRATCH, pte(l1, PTE_DATA)), -EINVAL, "it is still my kernel L1 (cannot be mapped writable)");
}
