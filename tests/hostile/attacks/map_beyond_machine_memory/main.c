/*
 * map_beyond_machine_memory — frame numbers past the end of machine memory: MFN 0xFFFFF,
 * 0xFFFFFF, and an entry with every address bit (12-51) set.  A hypervisor that indexed
 * its frame table with them unchecked would read or write past it.
 */
#include "common.h"

static void attack(void)
{
    static const uint64_t frames[] = { BEYOND_MFN, 0xFFFFFFULL, 0xFFFFFFFFFFULL };
    unsigned int i;

    for (i = 0; i < 3; i++) {
        uint64_t entry = (frames[i] << 12) | PTE_RO;

        check(map(SCRATCH, entry), -EINVAL, "update_va_mapping(MFN 0x%llx)", (unsigned long long)frames[i]);
        check(mmu1(l1e_ma(SCRATCH), entry), -EINVAL, "mmu_update(L1 entry -> MFN 0x%llx)", (unsigned long long)frames[i]);
        check(mmu1(frames[i] << 12, 0), -EINVAL, "mmu_update(an entry inside MFN 0x%llx)", (unsigned long long)frames[i]);
    }
    check(mmu1(pte(BEYOND_MFN, 0) | MMU_MACHPHYS_UPDATE, 0), -EINVAL, "mmu_update(M2P entry of MFN 0xfffff)");
    check(ext(MMUEXT_PIN_L1_TABLE, BEYOND_MFN), -EINVAL, "pin MFN 0xfffff as an L1");
    check(ext(MMUEXT_UNPIN_TABLE, BEYOND_MFN), -EINVAL, "unpin MFN 0xfffff");
    check(ext(MMUEXT_NEW_BASEPTR, BEYOND_MFN), -EINVAL, "NEW_BASEPTR to MFN 0xfffff");
    check(ext(MMUEXT_CLEAR_PAGE, BEYOND_MFN), -EINVAL, "CLEAR_PAGE of MFN 0xfffff");
    check(ext2(MMUEXT_COPY_PAGE, spare(0), BEYOND_MFN), -EINVAL, "COPY_PAGE from MFN 0xfffff");
    check(ext(MMUEXT_PIN_L1_TABLE, 0xFFFFFFFFUL), -EINVAL, "pin MFN 0xffffffff as an L1");
    same(l1e(SCRATCH) == 0, "the scratch PTE is still empty");
}
