/*
 * forge_xen_slots_in_new_l2 — Xen does not validate the hypervisor slots (428-511) of a
 * top L2: it owns them and writes its own entries there when the table becomes a top L2.
 * So fill every one of them with a forged entry pointing at a fake "L1" of mine (never
 * validated) that maps a frame of the domain beside me and my own live L3, both writable;
 * pin an L3 on top, switch to it, and use the forged mappings.  Xen must have replaced
 * *all* the slots, including the ones it does not use itself, so every access faults as
 * not present.
 */
#include "common.h"

#define FORGED_VA 0xF5A00000UL  /* slot 429: in the hole, past the backed part of the M2P */

static void attack(void)
{
    unsigned long new_l3 = spare(0), new_l2 = spare(1), fake_l1 = spare(2), victim = foreign_frame();
    volatile uint64_t *page;
    unsigned int slot, same_slots = 0;

    name_frame("foreign", victim);
    page = fresh(fake_l1);
    page[0] = pte(victim, PTE_DATA);
    page[1] = pte(l3_mfn(), PTE_DATA);
    build_address_space(new_l3, new_l2, PTE_P);
    page = edit(new_l2);
    for (slot = XEN_L2_M2P; slot < 512; slot++)
        page[slot] = pte(fake_l1, L2E_FLAGS);
    edit_done();
    check(ext(MMUEXT_PIN_L3_TABLE, new_l3), 0, "pin an L3 over a top L2 with forged slots 428-511");
    check(map(SCRATCH, pte(new_l2, PTE_RO)), 0, "map that L2 read-only to look at it");
    for (slot = XEN_L2_M2P; slot < 512; slot++)
        same_slots += ((volatile uint64_t *)SCRATCH)[slot] == top_l2e(slot);
    check(same_slots, 512 - XEN_L2_M2P, "  ...slots 428-511 now equal Xen's in my live L2");
    check(map(SCRATCH, 0), 0, "  ...unmap it");
    check(ext(MMUEXT_NEW_BASEPTR, new_l3), 0, "switch to the new address space");
    check(probe_load(FORGED_VA), PF_READ_NOT_PRESENT, "  ...load through a forged slot (the other domain's frame)");
    check(probe_store(FORGED_VA + 0x10, 0x41414141), PF_WRITE_NOT_PRESENT, "  ...store into the other domain's frame");
    check(probe_store(FORGED_VA + 4096, 0), PF_WRITE_NOT_PRESENT, "  ...store through a forged slot (my live L3)");
    check(probe_load(MACH2PHYS_VIRT_START), NO_FAULT, "  ...the M2P is mapped");
    check(probe_store(MACH2PHYS_VIRT_START, 0), PF_WRITE_READ_ONLY, "  ...and read-only");
    check(ext(MMUEXT_NEW_BASEPTR, l3_mfn()), 0, "switch back");
    check(ext(MMUEXT_UNPIN_TABLE, new_l3), 0, "unpin the new L3");
}
