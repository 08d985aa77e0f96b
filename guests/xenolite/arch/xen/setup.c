/*
 * arch/xen/setup.c — the start of day under Xen: what the domain builder
 * left us, the trap table, and the kernel's direct map of all our memory.
 *
 * At entry (xen-pv-abi.md, "Start-of-day virtual layout") only the region
 * from KERNBASE to a little past the bootstrap stack is mapped, through
 * page tables the builder made and pinned; the rest of our pages are ours
 * but mapped nowhere. kmap_init() maps every page at KERNBASE + pfn *
 * PGSIZE, as Linux maps low memory, so the kernel can reach any frame
 * (to zero it, copy it, or read a page table through it) by arithmetic.
 */
#include <console.h>
#include <hypercall.h>
#include <lib.h>
#include "defs.h"

unsigned long *phys_to_machine_mapping;
pte_t *boot_l3;
pte_t *kernel_l2;

/*
 * The virtual IDT (paper §2.1.2). flags bits 0-1 = the DPL allowed to
 * raise the vector with `int n`: only the system call may be raised from
 * ring 3; the rest are faults, which Xen delivers whatever the DPL.
 * Bit 2 (TI_MASK_EVENTS) makes each an "interrupt gate": Xen masks events
 * on entry, so the kernel always runs with events masked (arch/xen/timer.c).
 */
#define TI_MASK_EVENTS 4

static const struct trap_info trap_table[] = {
    {  0,    TI_MASK_EVENTS,     FLAT_RING1_CS, (unsigned long)divide_error },
    {  6,    TI_MASK_EVENTS,     FLAT_RING1_CS, (unsigned long)invalid_op },
    { 13,    TI_MASK_EVENTS,     FLAT_RING1_CS, (unsigned long)general_protection },
    { 14,    TI_MASK_EVENTS,     FLAT_RING1_CS, (unsigned long)page_fault },
    { 0x80,  TI_MASK_EVENTS | 3, FLAT_RING1_CS, (unsigned long)system_call },
    {  0,    0, 0, 0 }
};

void arch_setup(start_info_t *si)
{
    int rc;

    phys_to_machine_mapping = (unsigned long *)si->mfn_list;
    boot_l3 = (pte_t *)si->pt_base;
    kernel_l2 = pte_page(boot_l3[3]);
    rc = map_shared_info(si);           /* for vcpu_info[0].arch.cr2 */
    if (rc == 0)
        rc = HYPERVISOR_set_trap_table(trap_table);
    if (rc < 0)
        panic("arch_setup: error %d", rc);
}

/*
 * Build the direct map and give every free page to the allocator; return
 * how many pages the kernel manages. The builder's mapping covers 2 MiB
 * regions 0..nboot-1 (it maps from KERNBASE up, contiguously). Two passes,
 * each one mmu_update batch:
 *
 * 1. Regions the builder already has L1s for: fill in the missing entries,
 *    and take PTE_U off their L2 entries. (The builder maps the start-of-day
 *    region user-accessible, as Xen's does; a kernel that runs ring-3 code
 *    must not let it touch the kernel.) Their free pages go to the allocator.
 * 2. Every further region: an L1 built in one of those free pages while it
 *    is still an ordinary writable page, made read-only, then hooked into
 *    the top L2 — which is when Xen validates it as an L1.
 */
unsigned long kmap_init(start_info_t *si)
{
    unsigned long nr_pages = si->nr_pages < MAX_PAGES ? si->nr_pages : MAX_PAGES;
    unsigned long nr_regions = (nr_pages + NPTENTRIES - 1) / NPTENTRIES;
    /* Everything up to the bootstrap page tables and the stack after them is in use. */
    unsigned long first_free = virt_to_pfn((void *)si->pt_base) + si->nr_pt_frames + 1;
    unsigned long nboot, r, i, pfn;
    pte_t *l1;

    for (nboot = 0; nboot < nr_regions && kernel_l2[nboot] & PTE_P; nboot++) {
        l1 = pte_page(kernel_l2[nboot]);
        for (i = 0; i < NPTENTRIES && (pfn = nboot * NPTENTRIES + i) < nr_pages; i++)
            if (!(l1[i] & PTE_P))
                set_pte(&l1[i], ((pte_t)pfn_to_mfn(pfn) << 12) | KERNEL_PTE);
        set_pte(&kernel_l2[nboot], kernel_l2[nboot] & ~PTE_U);
    }
    flush_page_update_queue();
    pfn = nboot * NPTENTRIES < nr_pages ? nboot * NPTENTRIES : nr_pages;
    if (first_free < pfn)
        kfree_range(pfn_to_virt(first_free), pfn_to_virt(pfn));

    for (r = nboot; r < nr_regions; r++) {
        l1 = kalloc();
        if (!l1)
            panic("kmap_init: no page for an L1");
        for (i = 0; i < NPTENTRIES && (pfn = r * NPTENTRIES + i) < nr_pages; i++)
            l1[i] = ((pte_t)pfn_to_mfn(pfn) << 12) | KERNEL_PTE;
        make_page_readonly(l1);
        set_pte(&kernel_l2[r], mk_pte(l1, PTE_P | PTE_W | PTE_A));
    }
    flush_page_update_queue();
    if (nboot < nr_regions)
        kfree_range(pfn_to_virt(nboot * NPTENTRIES), pfn_to_virt(nr_pages));

    printk("kmap: direct map 0x%08lx-0x%08lx: %lu boot L1s completed, %lu new L1s, %u pages free\n",
           KERNBASE, (unsigned long)pfn_to_virt(nr_pages) - 1, nboot, nr_regions - nboot,
           kfree_count());
    if (nr_pages < si->nr_pages)
        printk("kmap: only the first %lu of %lu pages are used (MAX_PAGES)\n",
               nr_pages, si->nr_pages);
    return nr_pages;
}

/* The ring-1 stack Xen switches to on a trap from ring 3 (the TSS's esp1). */
void arch_set_kernel_stack(void *top)
{
    HYPERVISOR_stack_switch(FLAT_RING1_SS, (unsigned long)top);
}

/* Ring 1 cannot read %cr2: Xen leaves the fault address in vcpu_info. */
unsigned long arch_fault_address(void)
{
    return HYPERVISOR_shared_info->vcpu_info[0].arch.cr2;
}
