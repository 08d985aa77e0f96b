/*
 * writable_page_table_via_update_va_mapping — the guest owns its page tables, so Xen lets
 * it map them, but only read-only: one writable mapping and the guest could write any
 * entry unchecked.  Tried for each level, and by upgrading the read-only 1:1 mapping of the
 * L3 in place.  A read-only mapping is accepted (the control) and a store through it faults.
 */
#include "common.h"

static void attack(void)
{
    const char *names[3] = { "my L3", "my top L2", "my kernel L1" };
    unsigned long mfns[3] = { l3_mfn(), top_l2_mfn(), kernel_l1_mfn() };
    unsigned long sums[3];
    uint64_t one_to_one = l1e(si->pt_base);
    unsigned int i;

    for (i = 0; i < 3; i++)
        sums[i] = sum(table(mfns[i]), 4096);
    for (i = 0; i < 3; i++) {
        check(map(SCRATCH, pte(mfns[i], PTE_DATA)), -EINVAL, "update_va_mapping(%s, writable)", names[i]);
        same(l1e(SCRATCH) == 0, "  ...the scratch PTE is still empty");
        check(map(SCRATCH, pte(mfns[i], PTE_RO)), 0, "update_va_mapping(%s, read-only)", names[i]);
        same(sum((const volatile void *)SCRATCH, 4096) == sum(table(mfns[i]), 4096), "  ...reads the table");
        check(probe_store(SCRATCH, 0), PF_WRITE_READ_ONLY, "  ...a store through it faults");
        check(map(SCRATCH, 0), 0, "  ...unmap it");
    }
    check(map(si->pt_base, pte(l3_mfn(), PTE_DATA)), -EINVAL, "update_va_mapping(the 1:1 page of my L3, made writable)");
    same(l1e(si->pt_base) == one_to_one && !(one_to_one & PTE_RW), "  ...that mapping is still read-only");
    for (i = 0; i < 3; i++)
        same(sum(table(mfns[i]), 4096) == sums[i], "%s is unchanged", names[i]);
}
