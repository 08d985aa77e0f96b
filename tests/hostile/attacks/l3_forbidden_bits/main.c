/*
 * l3_forbidden_bits — a PAE L3 entry (PDPTE) may carry only present and the two cache
 * bits; RW, US and the others are reserved (the CPU faults loading CR3).  Refused when
 * writing an entry of my live L3, when pinning a new L3 and when switching to one.  The
 * same new L3 with a clean entry pins (the control).
 */
#include "common.h"

static void attack(void)
{
    static const uint64_t bad[] = { PTE_RW, PTE_US, PTE_A };
    static const char *names[] = { "RW", "US", "accessed" };
    unsigned long new_l3 = spare(0), new_l2 = spare(1), other_l2 = spare(2);
    uint64_t e3 = l3()[3];
    unsigned int i;

    for (i = 0; i < 3; i++)
        check(mmu1(l3e_ma(0), pte(other_l2, PTE_P | bad[i])), -EINVAL, "mmu_update(L3 slot 0 entry with %s)", names[i]);
    for (i = 0; i < 3; i++) {
        build_address_space(new_l3, new_l2, PTE_P | bad[i]);
        check(ext(MMUEXT_PIN_L3_TABLE, new_l3), -EINVAL, "pin an L3 whose slot 3 has %s", names[i]);
        check(ext(MMUEXT_NEW_BASEPTR, new_l3), -EINVAL, "NEW_BASEPTR to it");
    }
    same(l3()[0] == 0 && l3()[3] == e3, "my live L3 is unchanged");
    build_address_space(new_l3, new_l2, PTE_P);
    check(ext(MMUEXT_PIN_L3_TABLE, new_l3), 0, "pin it with a clean slot 3 (control)");
    check(ext(MMUEXT_UNPIN_TABLE, new_l3), 0, "  ...unpin it");
}
