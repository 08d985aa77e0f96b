/*
 * gdt_system_descriptor — a guest GDT holds only code and data segments.  A call gate
 * (here into Xen's ring-0 code selector) would be a door into ring 0; a TSS or LDT
 * descriptor would let the guest point the CPU at structures of its choosing.  Any
 * descriptor with the S bit clear is refused.
 */
#include "common.h"

static uint64_t gate(unsigned int type, unsigned int dpl)
{
    /* selector 0xe008 (Xen's ring-0 code), offset 0x1000 */
    return ((uint64_t)((1U << 15) | (dpl << 13) | (type << 8)) << 32) | (0xe008UL << 16) | 0x1000;
}

static void attack(void)
{
    static const char *names[] = { "a call gate to 0xe008", "an interrupt gate to 0xe008", "a TSS", "an LDT" };
    uint64_t bad[4];
    unsigned long frame = spare(0);
    unsigned long window = sum((const volatile void *)GDT_WINDOW, 4096);
    unsigned int i;

    bad[0] = gate(SYS_CALLGATE, 3);
    bad[1] = gate(SYS_INTGATE, 3);
    bad[2] = descriptor(0xC0000000UL, 103, SYS_TSS, 0, 1, 0);
    bad[3] = descriptor(0xC0000000UL, 4095, SYS_LDT, 0, 1, 0);
    for (i = 0; i < 4; i++) {
        gdt_frame(frame, &bad[i], 1);
        check(set_gdt1(frame, 2), -EINVAL, "set_gdt(entry 1: %s)", names[i]);
    }
    same(sum((const volatile void *)GDT_WINDOW, 4096) == window, "my GDT window is unchanged");
    check(map(SCRATCH, pte(frame, PTE_DATA)), 0, "the frame is still an ordinary page");
    check(map(SCRATCH, 0), 0, "  ...unmap it");
}
