/*
 * misaligned_pte_pointer — a PAE entry is 8 bytes at an 8-byte boundary; a request whose
 * ptr (after the 2 command bits) is 4 bytes off would write half of two entries: the high
 * half of one and the low half (present bit, frame) of the next, neither validated as
 * what it becomes.  Refused for both update commands; the aligned request works.
 */
#include "common.h"

static void attack(void)
{
    uint64_t ma = l1e_ma(SCRATCH), entry = pte(spare(0), PTE_DATA);

    check(mmu1(ma + 4, entry), -EINVAL, "mmu_update(PTE address + 4)");
    check(mmu1((ma + 4) | MMU_PT_UPDATE_PRESERVE_AD, entry), -EINVAL, "mmu_update(PTE address + 4, PRESERVE_AD)");
    check(mmu1(l1e_ma(SCRATCH + 4096) - 4, pte(0, PTE_DATA)), -EINVAL, "mmu_update(PTE address - 4, frame 0)");
    same(l1e(SCRATCH) == 0 && l1e(SCRATCH + 4096) == 0, "both entries are unchanged");
    check(mmu1(ma, entry), 0, "mmu_update(the aligned address) (control)");
    check(mmu1(ma, 0), 0, "  ...and back");
}
