/*
 * reserved_pte_bits — in a PAE entry bits 52-62 are reserved and NX (63) is reserved too
 * while EFER.NXE is off: the CPU would raise a reserved-bit page fault on a walk through
 * such an entry.  Xen refuses them at every level, through update_va_mapping and
 * mmu_update; the same entry without the bits is accepted (the control).
 */
#include "common.h"

static void attack(void)
{
    static const unsigned int bits[] = { 52, 58, 62, 63 };
    uint64_t good = pte(spare(0), PTE_DATA);
    unsigned int i;

    for (i = 0; i < 4; i++) {
        check(map(SCRATCH, good | (1ULL << bits[i])), -EINVAL, "update_va_mapping(PTE with bit %u)", bits[i]);
        check(mmu1(l1e_ma(SCRATCH), good | (1ULL << bits[i])), -EINVAL, "mmu_update(L1 entry with bit %u)", bits[i]);
        check(mmu1(l2e_ma(FREE_L2_VA), pte(spare(1), L2E_FLAGS) | (1ULL << bits[i])), -EINVAL,
              "mmu_update(L2 entry with bit %u)", bits[i]);
        check(mmu1(l3e_ma(0), pte(spare(2), PTE_P) | (1ULL << bits[i])), -EINVAL, "mmu_update(L3 entry with bit %u)", bits[i]);
    }
    same(l1e(SCRATCH) == 0 && l2e(FREE_L2_VA) == 0 && l3()[0] == 0, "my tables are unchanged");
    check(map(SCRATCH, good), 0, "update_va_mapping(the same PTE without them) (control)");
    check(map(SCRATCH, 0), 0, "  ...unmap it");
}
