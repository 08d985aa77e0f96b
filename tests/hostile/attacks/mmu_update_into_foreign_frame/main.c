/*
 * mmu_update_into_foreign_frame — mmu_update writes 8 bytes at a machine address the
 * guest chooses (a PTE, or for a frame that is no page table, an ordinary checked store).
 * Aim it at the M2P's L1 (making the M2P writable), at the GDT window's L1, at frame 0,
 * into the domain beside me and into a free frame.
 */
#include "common.h"

static void attack(void)
{
    unsigned long m2p_l1 = m2p_l1_mfn(), gdt_l1 = gdt_l1_mfn(), victim = foreign_frame();
    unsigned long frame = free_frame(), victim_pfn = M2P[victim];

    name_frame("xen", m2p_l1);
    name_frame("xen", gdt_l1);
    name_frame("foreign", victim);
    name_frame("free", frame);
    check(mmu1(pte(m2p_l1, 0), pte(mfn_of(0), PTE_DATA)), -EINVAL, "mmu_update(entry 0 of the M2P's L1)");
    check(mmu1(pte(gdt_l1, 0) + 8 * 14, pte(spare(0), PTE_DATA)), -EINVAL,
          "mmu_update(the GDT window's L1, Xen's GDT page slot)");
    check(mmu1(pte(0, 0), 0x1234), -EINVAL, "mmu_update(8 bytes into frame 0)");
    check(mmu1(pte(victim, 0) + 0x800, 0x1234), -EINVAL, "mmu_update(8 bytes into the other domain's frame)");
    check(mmu1(pte(frame, 0), 0x1234), -EINVAL, "mmu_update(8 bytes into a free frame)");
    check(mmu_done, 0, "  ...done");
    check(probe_store(MACH2PHYS_VIRT_START, 0), PF_WRITE_READ_ONLY, "the M2P is still read-only");
    same(M2P[mfn_of(0)] == 0 && M2P[victim] == victim_pfn, "  ...and unchanged");
}
