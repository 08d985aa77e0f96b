/*
 * gdt_bad_arguments — a guest GDT has at most 7168 entries (14 frames): Xen's own
 * descriptors start at entry 7168.  More is refused before any frame is looked at, as is
 * a frame list at an unmapped address or in the hole.  My GDT window stays as it was.
 */
#include "common.h"

static void attack(void)
{
    static const uint64_t good[] = { 0 };
    unsigned long frames[15], window = sum((const volatile void *)GDT_WINDOW, 4096);
    unsigned int i;

    for (i = 0; i < 15; i++) {
        gdt_frame(spare(i), good, 1);
        frames[i] = spare(i);
    }
    check(HYPERVISOR_set_gdt(frames, 7169), -EINVAL, "set_gdt(15 frames, 7169 entries)");
    check(HYPERVISOR_set_gdt(frames, 0x7FFFFFFF), -EINVAL, "set_gdt(15 frames, 0x7fffffff entries)");
    check(HYPERVISOR_set_gdt((unsigned long *)0x00400000UL, 512), -EFAULT, "set_gdt(frame list unmapped)");
    check(HYPERVISOR_set_gdt((unsigned long *)MACH2PHYS_VIRT_START, 512), -EFAULT, "set_gdt(frame list in the hole)");
    same(sum((const volatile void *)GDT_WINDOW, 4096) == window, "my GDT window is unchanged");
    check(map(SCRATCH, pte(spare(14), PTE_DATA)), 0, "the 15th frame is still an ordinary page");
    check(map(SCRATCH, pte(spare(0), PTE_DATA)), 0, "  ...and the 1st");
    check(map(SCRATCH, 0), 0, "  ...unmap it");
}
