/*
 * gdt_frame_mapped_writable — descriptor frames must be read-only everywhere: with a
 * writable mapping the guest could rewrite a checked descriptor into a ring-0 one after
 * the check.  Refused while any writable mapping exists; accepted once there is none (the
 * control), after which the frame cannot be mapped writable.
 */
#include "common.h"

static void attack(void)
{
    const uint64_t descs[] = { flat(SEG_CODE, 1), flat(SEG_DATA, 1) };
    unsigned long frame = spare(0);
    unsigned long window = sum((const volatile void *)GDT_WINDOW, 4096);

    gdt_frame(frame, descs, 2);
    check(map(SCRATCH, pte(frame, PTE_DATA)), 0, "map the GDT frame writable");
    check(set_gdt1(frame, 3), -EINVAL, "set_gdt(that frame)");
    check(probe_store(SCRATCH + 8 * 5, 0), NO_FAULT, "  ...my writable mapping still works");
    same(sum((const volatile void *)GDT_WINDOW, 4096) == window, "  ...my GDT window is unchanged");
    check(map(SCRATCH, pte(frame, PTE_RO)), 0, "map it read-only instead");
    check(set_gdt1(frame, 3), 0, "set_gdt(that frame) (control)");
    same(sum((const volatile void *)GDT_WINDOW, 4096) == sum((const volatile void *)SCRATCH, 4096),
         "  ...my GDT window shows it");
    check(map(SCRATCH + 4096, pte(frame, PTE_DATA)), -EINVAL, "  ...now it cannot be mapped writable");
    check(mmu1(l1e_ma(SCRATCH), pte(frame, PTE_DATA)), -EINVAL, "  ...not even by mmu_update");
    check(mmu1(pte(frame, 0) + 8, descriptor(0, 0xFFFFF, SEG_CODE, 1, 0, 1)), -EINVAL,
          "  ...and mmu_update cannot store into it");
}
