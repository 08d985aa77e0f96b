/*
 * bad_hypercall_pointers — every pointer a hypercall follows is the guest's, translated
 * through the guest's tables with the guest's rights: unmapped memory, the hole (even the
 * M2P, which the guest itself may read) and, for results, read-only memory give -EFAULT,
 * never a fault inside Xen.  A batch running off the end of mapped memory stops there,
 * with *done saying how far it got.  The requests themselves are harmless no-ops.
 */
#include "common.h"

#define UNMAPPED 0x00400000UL

static void attack(void)
{
    struct mmu_update noop = { .ptr = l1e_ma(SCRATCH + 8 * 4096), .val = 0 };
    struct mmuext_op flush = { .cmd = MMUEXT_TLB_FLUSH_LOCAL };
    struct mmu_update *edge;
    int done = -1;

    check(HYPERVISOR_mmu_update((void *)UNMAPPED, 1, &done, DOMID_SELF), -EFAULT, "mmu_update(requests unmapped)");
    check(HYPERVISOR_mmu_update((void *)MACH2PHYS_VIRT_START, 1, &done, DOMID_SELF), -EFAULT,
          "mmu_update(requests in the hole, on the M2P)");
    check(HYPERVISOR_mmu_update((void *)0xFFFFFFF0UL, 1, &done, DOMID_SELF), -EFAULT, "mmu_update(requests at 0xfffffff0)");
    check(HYPERVISOR_mmu_update(&noop, 1, (int *)si->pt_base, DOMID_SELF), -EFAULT, "mmu_update(done read-only)");
    check(HYPERVISOR_mmu_update(&noop, 1, (int *)MACH2PHYS_VIRT_START, DOMID_SELF), -EFAULT, "mmu_update(done in the hole)");
    check(HYPERVISOR_mmuext_op((void *)UNMAPPED, 1, &done, DOMID_SELF), -EFAULT, "mmuext_op(ops unmapped)");
    check(HYPERVISOR_mmuext_op((void *)GDT_WINDOW, 1, &done, DOMID_SELF), -EFAULT, "mmuext_op(ops in the hole)");
    check(HYPERVISOR_mmuext_op(&flush, 1, (int *)si->pt_base, DOMID_SELF), -EFAULT, "mmuext_op(done read-only)");
    check(HYPERVISOR_set_trap_table((void *)MACH2PHYS_VIRT_START), -EFAULT, "set_trap_table(table in the hole)");
    check(HYPERVISOR_console_io(CONSOLEIO_write, 4, (char *)MACH2PHYS_VIRT_START), -EFAULT, "console_io(write from the hole)");

    check(map(SCRATCH, pte(spare(0), PTE_DATA)), 0, "map one page with the next unmapped");
    edge = (struct mmu_update *)(SCRATCH + 4096 - sizeof(noop));
    edge->ptr = l1e_ma(SCRATCH + 8 * 4096);
    edge->val = pte(spare(1), PTE_DATA);
    done = -1;
    check(HYPERVISOR_mmu_update(edge, 2, &done, DOMID_SELF), -EFAULT, "mmu_update(2 requests, the 2nd unmapped)");
    /* Xen copies one request at a time (applies the 1st, done = 1); reading the batch in
     * chunks may fault before the 1st (done = 0).  Either way done must tell the truth. */
    check(done == (l1e(SCRATCH + 8 * 4096) != 0), 1, "  ...done says how many were applied");
    check(map(SCRATCH + 8 * 4096, 0), 0, "  ...undo the 1st if it was");
    check(map(SCRATCH, 0), 0, "unmap the page");
    same(l1e(SCRATCH + 8 * 4096) == 0, "the target entry is empty");
    check(probe_load(UNMAPPED), PF_READ_NOT_PRESENT, "my trap table still works");
}
