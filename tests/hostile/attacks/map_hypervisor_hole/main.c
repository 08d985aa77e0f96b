/*
 * map_hypervisor_hole — everything from HYPERVISOR_VIRT_START (0xF5800000) up is Xen's, in
 * every address space.  update_va_mapping refuses any address there, whatever the frame:
 * the M2P, the GDT window (and Xen's flat GDT page in it), Xen's text, the last page.
 */
#include "common.h"

static void attack(void)
{
    static const unsigned long vas[] = {
        0xF5800000UL, 0xF6000000UL, 0xF67FF000UL, GDT_WINDOW, XEN_GDT_PAGE, 0xFF000000UL, 0xFFFFF000UL,
    };
    unsigned long gdt = sum((const volatile void *)XEN_GDT_PAGE, 4096);
    unsigned int i;

    for (i = 0; i < sizeof(vas) / sizeof(vas[0]); i++)
        check(map(vas[i], pte(spare(0), PTE_DATA)), -EINVAL, "update_va_mapping(0x%08lx, my page)", vas[i]);
    check(map(0xF5800000UL, 0), -EINVAL, "update_va_mapping(0xf5800000, unmap)");
    same(M2P[mfn_of(0)] == 0 && M2P[spare(0)] == si->nr_pages - 1, "the M2P still says what it said");
    same(sum((const volatile void *)XEN_GDT_PAGE, 4096) == gdt, "Xen's GDT page is unchanged");
    check(probe_store(0xF5800000UL, 0), PF_WRITE_READ_ONLY, "the M2P is still read-only");
}
