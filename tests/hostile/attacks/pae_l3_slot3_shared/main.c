/*
 * pae_l3_slot3_shared — the L2 under slot 3 carries per-address-space Xen entries, so Xen
 * lets only one L3 use it ("PAE L3 3rd slot is shared").  A second L3 pointing at my live
 * top L2 is refused; one with its own top L2 is accepted (the control).
 */
#include "common.h"

static void attack(void)
{
    unsigned long new_l3 = spare(0), new_l2 = spare(1);
    volatile uint64_t *page;
    int rc;

    page = fresh(new_l3);
    page[3] = l3()[3];
    edit_done();
    rc = ext(MMUEXT_PIN_L3_TABLE, new_l3);
    check(rc, -EINVAL, "pin an L3 sharing my live top L2");
    if (rc == 0)
        ext(MMUEXT_UNPIN_TABLE, new_l3);
    build_address_space(new_l3, new_l2, PTE_P);
    check(ext(MMUEXT_PIN_L3_TABLE, new_l3), 0, "pin one with a top L2 of its own (control)");
    check(ext(MMUEXT_UNPIN_TABLE, new_l3), 0, "  ...unpin it");
}
