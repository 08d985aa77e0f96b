/*
 * absurd_counts — one hypercall must not keep Xen busy for ever, or read far past the
 * array it was given: counts of 1<<24 and 0x7fffffff are refused outright, before any
 * request is applied (the first one here would have been accepted).
 */
#include "common.h"

static void attack(void)
{
    struct mmu_update req = { .ptr = l1e_ma(SCRATCH), .val = pte(spare(0), PTE_DATA) };
    struct mmuext_op op = { .cmd = MMUEXT_PIN_L1_TABLE, .arg1.mfn = spare(1) };
    int done = -1;

    check(HYPERVISOR_mmu_update(&req, 1 << 24, &done, DOMID_SELF), -EINVAL, "mmu_update(count 1<<24)");
    check(HYPERVISOR_mmu_update(&req, 0x7FFFFFFF, &done, DOMID_SELF), -EINVAL, "mmu_update(count 0x7fffffff)");
    check(HYPERVISOR_mmuext_op(&op, 1 << 24, &done, DOMID_SELF), -EINVAL, "mmuext_op(count 1<<24)");
    check(HYPERVISOR_mmuext_op(&op, 0x7FFFFFFF, &done, DOMID_SELF), -EINVAL, "mmuext_op(count 0x7fffffff)");
    same(l1e(SCRATCH) == 0, "the first request was not applied");
    check(ext(MMUEXT_UNPIN_TABLE, spare(1)), -EINVAL, "  ...nor the first op (nothing to unpin)");
}
