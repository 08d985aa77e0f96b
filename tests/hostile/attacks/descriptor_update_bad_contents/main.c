/*
 * descriptor_update_bad_contents — update_descriptor checks the descriptor it writes by
 * the same rules as set_gdt: no DPL-0 code or data, no system descriptor, no segment
 * reaching past the read-only M2P.  The target is a spare frame of mine, which stays
 * zero; a good descriptor goes in (the control).
 */
#include "common.h"

static void attack(void)
{
    static const char *names[] = {
        "flat code, DPL 0", "flat data, DPL 0", "a call gate to 0xe008", "a TSS", "flat 4 GiB data, DPL 1",
    };
    uint64_t bad[5];
    unsigned long frame = spare(0);
    unsigned int i, written;

    bad[0] = flat(SEG_CODE, 0);
    bad[1] = flat(SEG_DATA, 0);
    bad[2] = ((uint64_t)((1U << 15) | (3U << 13) | (SYS_CALLGATE << 8)) << 32) | (0xe008UL << 16) | 0x1000;
    bad[3] = descriptor(0xC0000000UL, 103, SYS_TSS, 0, 1, 0);
    bad[4] = descriptor(0, 0xFFFFF, SEG_DATA, 1, 1, 1);
    for (i = 0; i < 5; i++)
        check(HYPERVISOR_update_descriptor(pte(frame, 0) + 8 * (1 + i), bad[i]), -EINVAL, "update_descriptor(%s)",
              names[i]);
    check(map(SCRATCH, pte(frame, PTE_RO)), 0, "map the frame read-only");
    for (i = 0, written = 0; i < 512; i++)
        written |= ((volatile uint64_t *)SCRATCH)[i] != 0;
    same(!written, "  ...it is still all zero");
    check(map(SCRATCH, 0), 0, "  ...unmap it");
    check(HYPERVISOR_update_descriptor(pte(frame, 0) + 8, flat(SEG_CODE, 1)), 0,
          "update_descriptor(flat code, DPL 1) (control)");
}
