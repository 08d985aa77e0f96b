/*
 * store_to_own_page_tables — the boot page tables sit in the 1:1 region, mapped
 * read-only.  A direct store (what a native kernel does) must fault with error code 3
 * at every level; the entries keep their values.
 */
#include "common.h"

static void attack(void)
{
    unsigned long l3va = si->pt_base;
    unsigned long l2va = (unsigned long)table(top_l2_mfn()), l1va = (unsigned long)table(kernel_l1_mfn());
    uint64_t e3 = l3()[3], e2 = table(top_l2_mfn())[0], e1 = table(kernel_l1_mfn())[0];

    check(probe_store(l3va + 8 * 3, 0), PF_WRITE_READ_ONLY, "store to my L3's slot 3: #PF error code");
    same(faulted_at(l3va + 8 * 3), "  ...cr2 is the address");
    check(probe_store(l2va + 8 * 4, 0x1007), PF_WRITE_READ_ONLY, "store to a free slot of my top L2");
    same(faulted_at(l2va + 8 * 4), "  ...cr2 is the address");
    check(probe_store(l1va, 0), PF_WRITE_READ_ONLY, "store to my kernel L1's first entry");
    same(faulted_at(l1va), "  ...cr2 is the address");
    same(l3()[3] == e3 && table(top_l2_mfn())[0] == e2 && table(kernel_l1_mfn())[0] == e1, "the entries are unchanged");
    same(table(top_l2_mfn())[4] == 0, "the free slot is still free");
}
