/*
 * gdt_frame_not_mine — the GDT frames are mapped into my GDT window, so each must be mine:
 * otherwise the guest would read (and the CPU use) descriptors from Xen's or another
 * domain's memory.  A list whose second frame is foreign must not leave the first one
 * typed either.
 */
#include "common.h"

static void attack(void)
{
    static const uint64_t good[] = { 0 };
    unsigned long victim = foreign_frame(), frame = free_frame();
    unsigned long window = sum((const volatile void *)GDT_WINDOW, 4096);
    unsigned long pair[2];

    name_frame("foreign", victim);
    name_frame("free", frame);
    name_frame("xen", gdt_l1_mfn());
    check(set_gdt1(0, 16), -EINVAL, "set_gdt(frame 0, Xen's)");
    check(set_gdt1(gdt_l1_mfn(), 16), -EINVAL, "set_gdt(the GDT window's own L1, Xen's)");
    check(set_gdt1(victim, 16), -EINVAL, "set_gdt(the other domain's frame)");
    check(set_gdt1(frame, 16), -EINVAL, "set_gdt(a free frame)");
    check(set_gdt1(BEYOND_MFN, 16), -EINVAL, "set_gdt(a frame beyond memory)");
    gdt_frame(spare(0), good, 1);
    pair[0] = spare(0);
    pair[1] = victim;
    check(HYPERVISOR_set_gdt(pair, 1024), -EINVAL, "set_gdt(a good frame of mine, then the other domain's)");
    same(sum((const volatile void *)GDT_WINDOW, 4096) == window, "my GDT window is unchanged");
    check(map(SCRATCH, pte(spare(0), PTE_DATA)), 0, "my good frame is still an ordinary page");
    check(map(SCRATCH, 0), 0, "  ...unmap it");
}
