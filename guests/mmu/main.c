/*
 * mmu — a PV kernel changes its own page tables only through Xen (paper
 * §3.3.3).  This guest does what XenoLinux does — finds its page-table
 * entries by machine address, batches PTE writes into one mmu_update, builds
 * a new page table in a free page, pins it and switches to a new base
 * pointer — and checks that each forbidden variant is refused.
 */
#include <checks.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

/* Machine frame 0 is always Xen's (the hypervisor never hands it to a domain). */
#define XEN_FRAME_0 0ULL
#include <lib.h>

#define VIRT_BASE   0xC0000000UL
#define SCRATCH     0xC0180000UL          /* inside the first L1, not mapped at boot */
#define M2P         ((const unsigned long *)MACH2PHYS_VIRT_START)
#define PTE_P       1ULL
#define PTE_RW      2ULL
#define PTE_US      4ULL
#define PTE_DATA    (PTE_P | PTE_RW | PTE_US)

static const start_info_t *si;

static unsigned long mfn_of(unsigned long pfn) { return ((const unsigned long *)si->mfn_list)[pfn]; }

/* A page-table frame is in the 1:1 region: its VA from the M2P. */
static uint64_t *table_va(uint64_t entry)
{
    unsigned long mfn = (unsigned long)(entry >> 12) & 0xFFFFFF;
    return (uint64_t *)(VIRT_BASE + (M2P[mfn] << 12));
}

/* Machine address of the L1 entry that maps va (walking the live tables). */
static uint64_t l1e_maddr(unsigned long va)
{
    uint64_t *l3 = (uint64_t *)si->pt_base;
    uint64_t *l2 = table_va(l3[va >> 30]);
    uint64_t l2e = l2[(va >> 21) & 511];
    return (l2e & 0xFFFFFF000ULL) + 8 * ((va >> 12) & 511);
}

static int map(unsigned long va, uint64_t pte)
{
    return HYPERVISOR_update_va_mapping(va, pte, UVMF_INVLPG);
}

static int ext(unsigned int cmd, unsigned long mfn)
{
    struct mmuext_op op = { .cmd = cmd, .arg1.mfn = mfn };
    return HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

static void batches(void)
{
    struct mmu_update req[8];
    int i, done = -1;
    unsigned long spare = si->nr_pages - 8;   /* the last pages: unmapped at boot */

    for (i = 0; i < 8; i++) {
        req[i].ptr = l1e_maddr(SCRATCH + i * 4096UL) | MMU_NORMAL_PT_UPDATE;
        req[i].val = ((uint64_t)mfn_of(spare + i) << 12) | PTE_DATA;
    }
    check("mmu_update(8 new mappings in one batch)", HYPERVISOR_mmu_update(req, 8, &done, DOMID_SELF), 0);
    check("  ...done", done, 8);
    for (i = 0; i < 8; i++)
        ((volatile unsigned long *)(SCRATCH + i * 4096UL))[0] = 0x1000 + i;
    check("  ...the pages are there", ((volatile unsigned long *)(SCRATCH + 7 * 4096UL))[0], 0x1007);

    for (i = 0; i < 4; i++)
        req[i].val = 0;                        /* unmap four ... */
    req[2].val = XEN_FRAME_0 | PTE_DATA;      /* ... but the third maps a frame of Xen's */
    check("mmu_update(batch failing at its 3rd request)", HYPERVISOR_mmu_update(req, 4, &done, DOMID_SELF), -EINVAL);
    check("  ...done says how many went through", done, 2);
    req[0].ptr = l1e_maddr(SCRATCH) | 4 | MMU_NORMAL_PT_UPDATE;   /* not 8-byte aligned */
    check("mmu_update(misaligned PTE address)", HYPERVISOR_mmu_update(req, 1, &done, DOMID_SELF), -EINVAL);
    check("mmu_update(for another domain)", HYPERVISOR_mmu_update(req, 1, &done, 5), -EPERM);
    check("mmu_update(an absurd count)", HYPERVISOR_mmu_update(req, 1 << 24, &done, DOMID_SELF), -EINVAL);
    check("mmu_update(requests at a bad pointer)", HYPERVISOR_mmu_update((void *)0x00400000, 1, &done, DOMID_SELF), -EFAULT);

    req[0].ptr = ((uint64_t)mfn_of(spare) << 12) | MMU_MACHPHYS_UPDATE;
    req[0].val = spare;
    check("mmu_update(M2P entry of an own frame)", HYPERVISOR_mmu_update(req, 1, NULL, DOMID_SELF), 0);
    req[0].ptr = XEN_FRAME_0 | MMU_MACHPHYS_UPDATE;
    check("mmu_update(M2P entry of a frame of Xen's)", HYPERVISOR_mmu_update(req, 1, NULL, DOMID_SELF), -EINVAL);
    for (i = 0; i < 8; i++)
        map(SCRATCH + i * 4096UL, 0);
}

static void page_tables(void)
{
    unsigned long l1_pfn = si->nr_pages - 16, l3_pfn = si->nr_pages - 15, data_pfn = si->nr_pages - 14;
    unsigned long l1 = mfn_of(l1_pfn), l3 = mfn_of(l3_pfn), data = mfn_of(data_pfn);
    uint64_t *page = (uint64_t *)SCRATCH;
    uint64_t *cur_l3 = (uint64_t *)si->pt_base;
    unsigned long cur_l3_mfn = mfn_of((si->pt_base - VIRT_BASE) >> 12);
    uint64_t pt_base_pte;

    /* Build an L1 in a free page while it is an ordinary writable page. */
    check("map a free page writable to fill it", map(SCRATCH, ((uint64_t)l1 << 12) | PTE_DATA), 0);
    memset(page, 0, 4096);
    page[0] = ((uint64_t)data << 12) | PTE_DATA;
    check("pin it as an L1 while it is mapped writable", ext(MMUEXT_PIN_L1_TABLE, l1), -EINVAL);
    check("map it read-only instead", map(SCRATCH, ((uint64_t)l1 << 12) | PTE_P), 0);
    check("pin it as an L1 now", ext(MMUEXT_PIN_L1_TABLE, l1), 0);
    check("pin it twice", ext(MMUEXT_PIN_L1_TABLE, l1), -EINVAL);
    check("map the pinned L1 writable", map(SCRATCH, ((uint64_t)l1 << 12) | PTE_DATA), -EINVAL);
    check("clear the pinned L1 with CLEAR_PAGE", ext(MMUEXT_CLEAR_PAGE, l1), -EINVAL);
    check("unpin it", ext(MMUEXT_UNPIN_TABLE, l1), 0);
    check("unpin it again", ext(MMUEXT_UNPIN_TABLE, l1), -EINVAL);
    check("map it writable again: it is an ordinary page", map(SCRATCH, ((uint64_t)l1 << 12) | PTE_DATA), 0);
    check("pin it as an L1 with a foreign frame inside",
          (page[1] = XEN_FRAME_0 | PTE_P, map(SCRATCH, ((uint64_t)l1 << 12) | PTE_P), ext(MMUEXT_PIN_L1_TABLE, l1)),
          -EINVAL);

    /* A second address space sharing the kernel's top L2, and a switch to it. */
    check("map another free page to build an L3", map(SCRATCH, ((uint64_t)l3 << 12) | PTE_DATA), 0);
    memset(page, 0, 4096);
    page[3] = cur_l3[3];
    page[0] = cur_l3[3] | 2;                   /* RW: forbidden in a PAE L3 entry */
    check("switch to an L3 with forbidden entry bits", (map(SCRATCH, ((uint64_t)l3 << 12) | PTE_P),
                                                       ext(MMUEXT_NEW_BASEPTR, l3)), -EINVAL);
    check("map it writable to fix it", map(SCRATCH, ((uint64_t)l3 << 12) | PTE_DATA), 0);
    page[0] = 0;
    map(SCRATCH, ((uint64_t)l3 << 12) | PTE_P);
    check("NEW_BASEPTR to the new L3", ext(MMUEXT_NEW_BASEPTR, l3), 0);
    printk("  ...still running on the new address space\n");
    check("NEW_BASEPTR back to the boot L3", ext(MMUEXT_NEW_BASEPTR, cur_l3_mfn), 0);
    check("unpin the current base pointer", ext(MMUEXT_UNPIN_TABLE, cur_l3_mfn), 0);
    pt_base_pte = ((volatile uint64_t *)si->pt_base)[3];
    check("  ...the live tables are still in use and readable", pt_base_pte == cur_l3[3], 1);
    check("pin it again", ext(MMUEXT_PIN_L3_TABLE, cur_l3_mfn), 0);
    check("CLEAR_PAGE of an ordinary page", (map(SCRATCH, 0), ext(MMUEXT_CLEAR_PAGE, data)), 0);
    map(SCRATCH, 0);
}

void start_kernel(start_info_t *start_info)
{
    si = start_info;
    batches();
    page_tables();
    checks_done();
}
