/*
 * writable_page_table_via_mmu_update — as writable_page_table_via_update_va_mapping, but by
 * writing the L1 entry with mmu_update (plain and PRESERVE_AD), and hidden in a batch whose
 * first request is harmless: Xen applies the first, refuses the second and says so in
 * *done.
 */
#include "common.h"

static void attack(void)
{
    const char *names[3] = { "my L3", "my top L2", "my kernel L1" };
    unsigned long mfns[3] = { l3_mfn(), top_l2_mfn(), kernel_l1_mfn() };
    unsigned long sums[3];
    struct mmu_update batch[2];
    int done = -1;
    unsigned int i;

    for (i = 0; i < 3; i++)
        sums[i] = sum(table(mfns[i]), 4096);
    for (i = 0; i < 3; i++) {
        check(mmu1(l1e_ma(SCRATCH), pte(mfns[i], PTE_DATA)), -EINVAL, "mmu_update(L1 entry -> %s, writable)", names[i]);
        check(mmu1(l1e_ma(SCRATCH) | MMU_PT_UPDATE_PRESERVE_AD, pte(mfns[i], PTE_DATA)), -EINVAL,
              "mmu_update(L1 entry -> %s, writable, PRESERVE_AD)", names[i]);
    }
    batch[0].ptr = l1e_ma(SCRATCH);
    batch[0].val = pte(spare(0), PTE_DATA);
    batch[1].ptr = l1e_ma(SCRATCH + 4096);
    batch[1].val = pte(kernel_l1_mfn(), PTE_DATA);
    check(HYPERVISOR_mmu_update(batch, 2, &done, DOMID_SELF), -EINVAL,
          "mmu_update(batch: map a spare page, then my kernel L1 writable)");
    check(done, 1, "  ...done");
    check(probe_store(SCRATCH, 0x1234), NO_FAULT, "  ...the spare page is mapped writable");
    same(l1e(SCRATCH + 4096) == 0, "  ...the second PTE is still empty");
    check(map(SCRATCH, 0), 0, "unmap the spare page");
    for (i = 0; i < 3; i++)
        same(sum(table(mfns[i]), 4096) == sums[i], "%s is unchanged", names[i]);
}
