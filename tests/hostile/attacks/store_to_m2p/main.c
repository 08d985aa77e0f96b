/*
 * store_to_m2p — the M2P is mapped into every guest, read-only.  A store must raise #PF
 * with error code 3 (present, write, supervisor) and CR2 = the address, which Xen passes on
 * in vcpu_info.arch.cr2; the handler skips the store.  Likewise Xen's GDT page; past the
 * backed part of the M2P and at Xen's text nothing is mapped at all (error code 2).
 */
#include "common.h"

static void attack(void)
{
    unsigned long mine0 = (unsigned long)&M2P[mfn_of(0)];
    unsigned long gdt = sum((const volatile void *)XEN_GDT_PAGE, 4096);

    check(probe_store(MACH2PHYS_VIRT_START, 0x1234), PF_WRITE_READ_ONLY, "store to MACH2PHYS_VIRT_START: #PF error code");
    same(faulted_at(MACH2PHYS_VIRT_START), "  ...cr2 is the address");
    check(probe_store(mine0, 77), PF_WRITE_READ_ONLY, "store to the M2P entry of my own frame: #PF error code");
    same(faulted_at(mine0), "  ...cr2 is the address");
    check(probe_store(XEN_GDT_PAGE + 8, 0), PF_WRITE_READ_ONLY, "store to Xen's GDT page: #PF error code");
    same(faulted_at(XEN_GDT_PAGE + 8), "  ...cr2 is the address");
    check(probe_store(MACH2PHYS_VIRT_END - 4, 0), PF_WRITE_NOT_PRESENT, "store to the M2P's last entry (not backed)");
    check(probe_store(0xFF000000UL, 0), PF_WRITE_NOT_PRESENT, "store to Xen's text (not mapped here)");
    check(probe_load(0xFF000000UL), PF_READ_NOT_PRESENT, "load from Xen's text (not mapped here)");
    same(M2P[mfn_of(0)] == 0 && M2P[0] == M2P_INVALID, "the M2P is unchanged");
    same(sum((const volatile void *)XEN_GDT_PAGE, 4096) == gdt, "Xen's GDT page is unchanged");
    check(nr_faults, 6, "faults taken");
}
