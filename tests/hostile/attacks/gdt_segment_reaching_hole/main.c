/*
 * gdt_segment_reaching_hole — Xen 2003 protected its area with segment limits, and Xen
 * still refuses guest segments that reach past the end of the read-only M2P (0xF6800000):
 * a flat 4 GiB segment, one starting in the hole, one wrapping around the top of the
 * address space.  A segment ending exactly at 0xF67FFFFF, like Xen's own FLAT_RING1_DS,
 * is accepted (the control).
 */
#include "common.h"

static void attack(void)
{
    static const char *names[] = {
        "flat 4 GiB data, DPL 1", "flat 4 GiB code, DPL 3", "data at 0xf6800000, 1 page", "data at 0xfc000000",
        "data at 0xfffff000 wrapping 8 KiB",
    };
    uint64_t bad[5];
    const uint64_t edge[] = { descriptor(0, GUEST_LIMIT, SEG_DATA, 1, 1, 1),
                              descriptor(0xF6000000UL, 0x7FF, SEG_DATA, 1, 3, 1) };
    unsigned long frame = spare(0);
    unsigned long window = sum((const volatile void *)GDT_WINDOW, 4096);
    unsigned int i;

    bad[0] = descriptor(0, 0xFFFFF, SEG_DATA, 1, 1, 1);
    bad[1] = descriptor(0, 0xFFFFF, SEG_CODE, 1, 3, 1);
    bad[2] = descriptor(0xF6800000UL, 0, SEG_DATA, 1, 1, 1);
    bad[3] = descriptor(0xFC000000UL, 0xFFF, SEG_DATA, 1, 1, 0);
    bad[4] = descriptor(0xFFFFF000UL, 0x1FFF, SEG_DATA, 1, 1, 0);
    for (i = 0; i < 5; i++) {
        gdt_frame(frame, &bad[i], 1);
        check(set_gdt1(frame, 2), -EINVAL, "set_gdt(entry 1: %s)", names[i]);
    }
    same(sum((const volatile void *)GDT_WINDOW, 4096) == window, "my GDT window is unchanged");
    gdt_frame(frame, edge, 2);
    check(set_gdt1(frame, 3), 0, "set_gdt(segments ending at 0xf67fffff) (control)");
}
