/*
 * steal_xen_l2_entries — the guest can read Xen's entries in its top L2.  Copying one into
 * a slot that is the guest's would map Xen's L1 — and every frame it maps — a second time,
 * under flags of the guest's choosing.  Tried as a plain copy, with the user bit, in a
 * fresh L2 pinned on its own, and in an L3 slot.
 */
#include "common.h"

static void attack(void)
{
    uint64_t m2p = top_l2e(XEN_L2_M2P), gdt = top_l2e(XEN_L2_GDT);
    volatile uint64_t *page;

    name_frame("xen", entry_mfn(m2p));
    name_frame("xen", entry_mfn(gdt));
    check(mmu1(l2e_ma(FREE_L2_VA), m2p), -EINVAL, "mmu_update(free slot <- Xen's M2P entry)");
    check(mmu1(l2e_ma(FREE_L2_VA), m2p | PTE_US), -EINVAL, "mmu_update(free slot <- Xen's M2P entry | user)");
    check(mmu1(l2e_ma(FREE_L2_VA), gdt), -EINVAL, "mmu_update(free slot <- Xen's GDT entry)");
    page = fresh(spare(0));
    page[0] = m2p;
    page[1] = gdt;
    edit_done();
    check(ext(MMUEXT_PIN_L2_TABLE, spare(0)), -EINVAL, "pin a fresh L2 holding Xen's two entries");
    check(mmu1(l3e_ma(0), pte(spare(0), PTE_P)), -EINVAL, "mmu_update(L3 slot 0 -> that L2)");
    same(l2e(FREE_L2_VA) == 0 && l3()[0] == 0, "my tables are unchanged");
    check(probe_load(FREE_L2_VA), PF_READ_NOT_PRESENT, "the free slot still maps nothing");
}
