/*
 * gdt_ring0_descriptor — a DPL-0 code segment would let the guest run in ring 0 (a far
 * jump to it), a DPL-0 data segment is unusable by ring 1 yet still a hole in the rule.
 * Refused, wherever in the table it sits; the same table with DPL 1 is accepted, and then
 * the CPU really uses it (the control loads %ds from it).
 */
#include "common.h"

static void attack(void)
{
    const uint64_t code0[] = { flat(SEG_DATA, 1), flat(SEG_CODE, 0) };
    const uint64_t data0[] = { flat(SEG_DATA, 0) };
    const uint64_t ring1[] = { flat(SEG_DATA, 1), flat(SEG_CODE, 1) };
    unsigned long frame = spare(0);
    unsigned long window = sum((const volatile void *)GDT_WINDOW, 4096);
    unsigned short ds;

    gdt_frame(frame, code0, 2);
    check(set_gdt1(frame, 3), -EINVAL, "set_gdt(entry 2: flat code, DPL 0)");
    gdt_frame(frame, data0, 1);
    check(set_gdt1(frame, 2), -EINVAL, "set_gdt(entry 1: flat data, DPL 0)");
    check(set_gdt1(frame, 512), -EINVAL, "set_gdt(the same, 512 entries)");
    same(sum((const volatile void *)GDT_WINDOW, 4096) == window, "my GDT window is unchanged");
    gdt_frame(frame, ring1, 2);
    check(set_gdt1(frame, 3), 0, "set_gdt(the same with DPL 1) (control)");
    asm volatile("movw %w1, %%ds\n\tmovw %%ds, %0\n\tmovw %w2, %%ds"
                 : "=r"(ds) : "r"(0x09), "r"(FLAT_RING1_DS) : "memory");
    check(ds, 0x09, "  ...%%ds loads from entry 1");
}
