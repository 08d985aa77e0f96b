/*
 * pae_l3_slot3_empty — in a 32-bit PAE guest, slot 3 of every L3 must hold the L2 that
 * carries Xen's hole (the M2P, the GDT the CPU is using).  Xen refuses an L3 without it
 * ("PAE L3 3rd slot is empty"): switching to one would leave the CPU without its GDT.
 */
#include "common.h"

static void attack(void)
{
    unsigned long new_l3 = spare(0), new_l2 = spare(1);
    volatile uint64_t *page;
    int rc;

    page = fresh(new_l2);
    page[0] = top_l2e(0);
    page = fresh(new_l3);
    page[0] = pte(new_l2, PTE_P);   /* a valid L2, but in slot 0; slot 3 empty */
    edit_done();
    rc = ext(MMUEXT_PIN_L3_TABLE, new_l3);
    check(rc, -EINVAL, "pin an L3 with slot 3 empty");
    if (rc == 0)
        ext(MMUEXT_UNPIN_TABLE, new_l3);
    check(map(SCRATCH, pte(new_l3, PTE_DATA)), 0, "it is still an ordinary page (map it writable)");
    check(map(SCRATCH, 0), 0, "  ...unmap it");
}
