/*
 * update_va_mapping_bad_flags — flags & 3 selects the flush (none, TLB, INVLPG); 3 is no
 * flush type at all.  Refused before anything is written, with or without UVMF_ALL.  An
 * address no L1 covers has no entry to write.
 */
#include "common.h"

static void attack(void)
{
    uint64_t entry = pte(spare(0), PTE_DATA);

    check(HYPERVISOR_update_va_mapping(SCRATCH, entry, 3), -EINVAL, "update_va_mapping(flags 3)");
    check(HYPERVISOR_update_va_mapping(SCRATCH, entry, 3 | UVMF_ALL), -EINVAL, "update_va_mapping(flags 3 | UVMF_ALL)");
    check(HYPERVISOR_update_va_mapping(0x00400000UL, entry, UVMF_INVLPG), -EINVAL,
          "update_va_mapping(an address no L1 covers)");
    check(HYPERVISOR_update_va_mapping(FREE_L2_VA, entry, UVMF_INVLPG), -EINVAL,
          "update_va_mapping(an address under an empty L2 slot)");
    same(l1e(SCRATCH) == 0 && l2e(FREE_L2_VA) == 0 && l3()[0] == 0, "nothing was written");
    check(HYPERVISOR_update_va_mapping(SCRATCH, entry, UVMF_TLB_FLUSH), 0, "update_va_mapping(flags UVMF_TLB_FLUSH) (control)");
    check(map(SCRATCH, 0), 0, "  ...unmap it");
}
