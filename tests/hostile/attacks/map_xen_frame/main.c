/*
 * map_xen_frame — map frames that belong to Xen: machine frame 0 (reserved for the
 * hypervisor), the L1 table that maps the M2P and the per-domain L1 that maps the GDT
 * window.  The last two are named by the hole slots of the guest's own top L2, which it
 * can read; a mapping of either table would let the guest map any machine frame.
 */
#include "common.h"

static void attempt(const char *what, unsigned long mfn)
{
    name_frame("xen", mfn);
    check(map(SCRATCH, pte(mfn, PTE_RO)), -EINVAL, "update_va_mapping(%s, read-only)", what);
    check(map(SCRATCH, pte(mfn, PTE_DATA)), -EINVAL, "update_va_mapping(%s, writable)", what);
    check(HYPERVISOR_update_va_mapping(SCRATCH, pte(mfn, PTE_DATA), UVMF_INVLPG | UVMF_ALL), -EINVAL,
          "update_va_mapping(%s, writable, UVMF_ALL)", what);
}

static void attack(void)
{
    attempt("frame 0", 0);
    attempt("the M2P's L1", m2p_l1_mfn());
    attempt("the GDT window's L1", gdt_l1_mfn());
    same(l1e(SCRATCH) == 0, "the scratch PTE is still empty");
    check(probe_load(SCRATCH), PF_READ_NOT_PRESENT, "a load from the scratch page still faults");
    same(faulted_at(SCRATCH), "  ...at the scratch address");
}
