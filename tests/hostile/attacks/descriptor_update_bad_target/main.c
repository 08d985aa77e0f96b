/*
 * descriptor_update_bad_target — update_descriptor(ma, desc) writes one descriptor at a
 * machine address: Xen's only store on the guest's behalf into a descriptor frame.  The
 * address must be 8-byte aligned, in a frame of mine that can be a descriptor frame (not
 * mapped writable, not a page table).  A good descriptor is used, so only the target is
 * wrong; the control writes it into a spare frame of mine.
 */
#include "common.h"

static void attack(void)
{
    uint64_t good = flat(SEG_DATA, 1);
    unsigned long victim = foreign_frame(), frame = spare(0);
    uint64_t e1 = table(kernel_l1_mfn())[1];

    name_frame("foreign", victim);
    check(HYPERVISOR_update_descriptor(pte(frame, 0) + 4, good), -EINVAL, "update_descriptor(ma 4 bytes off)");
    check(HYPERVISOR_update_descriptor(pte(frame, 0) + 1, good), -EINVAL, "update_descriptor(ma 1 byte off)");
    check(HYPERVISOR_update_descriptor(pte(0, 0) + 8, good), -EINVAL, "update_descriptor(in frame 0, Xen's)");
    check(HYPERVISOR_update_descriptor(pte(gdt_l1_mfn(), 0) + 8, good), -EINVAL,
          "update_descriptor(in the GDT window's L1, Xen's)");
    check(HYPERVISOR_update_descriptor(pte(victim, 0) + 8, good), -EINVAL, "update_descriptor(in the other domain's frame)");
    check(HYPERVISOR_update_descriptor(pte(BEYOND_MFN, 0), good), -EINVAL, "update_descriptor(beyond memory)");
    check(HYPERVISOR_update_descriptor(pte(kernel_l1_mfn(), 0) + 8, good), -EINVAL, "update_descriptor(in my kernel L1)");
    same(table(kernel_l1_mfn())[1] == e1, "  ...my kernel L1 is unchanged");
    check(map(SCRATCH, pte(frame, PTE_DATA)), 0, "map a spare frame writable");
    check(HYPERVISOR_update_descriptor(pte(frame, 0) + 8, good), -EINVAL, "update_descriptor(in that frame)");
    same(((volatile uint64_t *)SCRATCH)[1] == 0, "  ...it still reads 0");
    check(map(SCRATCH, 0), 0, "unmap it");
    check(HYPERVISOR_update_descriptor(pte(frame, 0) + 8, good), 0, "update_descriptor(in that frame now) (control)");
    check(map(SCRATCH, pte(frame, PTE_RO)), 0, "map it read-only");
    same(((volatile uint64_t *)SCRATCH)[1] == good, "  ...it holds the descriptor");
}
