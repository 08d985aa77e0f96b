/*
 * change_xen_l2_slots — slots 428-511 of the top L2 map Xen's hole (the M2P, the GDT
 * window).  They sit in the guest's own frame, but only Xen writes them: clearing one, or
 * pointing it at a table of mine, is refused.  The same write to slot 427, the last one
 * that is the guest's, is accepted (the control).
 */
#include "common.h"

static void attack(void)
{
    static const unsigned int slots[] = { XEN_L2_M2P, XEN_L2_GDT, 511 };
    uint64_t base = pte(top_l2_mfn(), 0);
    uint64_t old[3];
    unsigned int i;

    for (i = 0; i < 3; i++)
        old[i] = top_l2e(slots[i]);
    for (i = 0; i < 3; i++) {
        check(mmu1(base + 8 * slots[i], 0), -EINVAL, "mmu_update(clear slot %u of my top L2)", slots[i]);
        check(mmu1(base + 8 * slots[i], pte(spare(0), L2E_FLAGS)), -EINVAL,
              "mmu_update(slot %u -> a zeroed L1 of mine)", slots[i]);
    }
    check(mmu1((base + 8 * XEN_L2_M2P) | MMU_PT_UPDATE_PRESERVE_AD, pte(spare(0), L2E_FLAGS)), -EINVAL,
          "mmu_update(slot 428 -> a zeroed L1 of mine, PRESERVE_AD)");
    for (i = 0; i < 3; i++)
        same(top_l2e(slots[i]) == old[i], "slot %u is unchanged", slots[i]);
    check(probe_load(MACH2PHYS_VIRT_START), NO_FAULT, "the M2P is still mapped");
    check(mmu1(base + 8 * 427, pte(spare(0), L2E_FLAGS)), 0, "mmu_update(slot 427 -> a zeroed L1 of mine) (control)");
    check(mmu1(base + 8 * 427, 0), 0, "mmu_update(clear slot 427)");
}
