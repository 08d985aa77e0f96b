/*
 * memops — two more of the paper's memory interfaces, from the guest side.
 * The balloon (§3.3.4): a domain gives frames back to Xen and claims them
 * again within a maximum the toolstack set.  Segmentation (Table 1): a guest
 * may install its own GDT, but Xen checks every descriptor (no ring 0, no
 * gates, nothing reaching Xen's hole) and the GDT frames may not stay
 * writable.
 */
#include <checks.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

/* Machine frame 0 is always Xen's (the hypervisor never hands it to a domain). */
#define XEN_FRAME_0 0ULL
#include <lib.h>
#include <xen/memory.h>

#define VIRT_BASE 0xC0000000UL
#define SCRATCH   0xC0180000UL
#define M2P       ((const unsigned long *)MACH2PHYS_VIRT_START)
#define PTE_RO    5ULL   /* P|US */
#define PTE_RW    7ULL   /* P|RW|US */

static const start_info_t *si;

static unsigned long mfn_of(unsigned long pfn) { return ((const unsigned long *)si->mfn_list)[pfn]; }

static long reservation(unsigned int cmd, unsigned long *frames, unsigned long n)
{
    struct xen_memory_reservation r = { .extent_start = frames, .nr_extents = n, .domid = DOMID_SELF };
    return HYPERVISOR_memory_op(cmd, &r);
}

/* A flat segment descriptor: base 0, 4 KiB granularity, `pages` pages long. */
static uint64_t segment(unsigned int dpl, int code, unsigned long pages)
{
    unsigned long limit = pages - 1;
    uint32_t lo = (uint32_t)(limit & 0xFFFF);
    uint32_t hi = (uint32_t)((limit & 0xF0000) | (1u << 23) | (1u << 22) | (1u << 15) | (dpl << 13) |
                             (1u << 12) | ((code ? 0xBu : 0x3u) << 8));
    return ((uint64_t)hi << 32) | lo;
}

static void balloon(void)
{
    domid_t self = DOMID_SELF;
    long initial = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
    unsigned long frame[2], pt_mfn = mfn_of((si->pt_base - VIRT_BASE) >> 12);
    struct xen_machphys_mapping mapping;

    check("current_reservation is start_info.nr_pages", initial, (long)si->nr_pages);
    check("maximum_reservation (the toolstack's maxmem)", HYPERVISOR_memory_op(XENMEM_maximum_reservation, &self), 4096);
    check("machphys_mapping", HYPERVISOR_memory_op(XENMEM_machphys_mapping, &mapping), 0);
    check("  ...v_start is the M2P", mapping.v_start == MACH2PHYS_VIRT_START, 1);

    frame[0] = mfn_of(si->nr_pages - 1);        /* a free page: unmapped, unused */
    check("decrease_reservation(an unused frame)", reservation(XENMEM_decrease_reservation, frame, 1), 1);
    check("  ...its M2P entry is now invalid", M2P[frame[0]] == 0xFFFFFFFFUL, 1);
    check("  ...current_reservation dropped by one", HYPERVISOR_memory_op(XENMEM_current_reservation, &self), initial - 1);
    check("decrease_reservation(the same frame again)", reservation(XENMEM_decrease_reservation, frame, 1), 0);
    frame[0] = pt_mfn;
    check("decrease_reservation(the live L3)", reservation(XENMEM_decrease_reservation, frame, 1), 0);
    frame[0] = mfn_of(0);                        /* the kernel's first page: mapped */
    check("decrease_reservation(a mapped frame)", reservation(XENMEM_decrease_reservation, frame, 1), 0);

    frame[0] = 0;
    check("increase_reservation(1)", reservation(XENMEM_increase_reservation, frame, 1), 1);
    check("  ...returned a machine frame", frame[0] != 0, 1);
    frame[0] = si->nr_pages - 1;                 /* populate_physmap: pfn in, mfn out */
    check("populate_physmap(1 page) while at the maximum", reservation(XENMEM_populate_physmap, frame, 1), 0);
    frame[0] = mfn_of(si->nr_pages - 2);
    frame[1] = mfn_of(si->nr_pages - 3);
    check("decrease_reservation(2 unused frames)", reservation(XENMEM_decrease_reservation, frame, 2), 2);
    frame[0] = si->nr_pages - 2;
    check("populate_physmap(pfn nr_pages-2)", reservation(XENMEM_populate_physmap, frame, 1), 1);
    check("  ...the M2P maps the new frame to that pfn", M2P[frame[0]] == si->nr_pages - 2, 1);
    check("increase_reservation(2) with room for 1", reservation(XENMEM_increase_reservation, frame, 2), 1);
    check("decrease_reservation for another domain", (frame[0] = 0,
          HYPERVISOR_memory_op(XENMEM_decrease_reservation,
                               &(struct xen_memory_reservation){ .extent_start = frame, .nr_extents = 1, .domid = 3 })),
          -EPERM);
}

static void descriptors(void)
{
    unsigned long gdt_pfn = si->nr_pages - 20, gdt = mfn_of(gdt_pfn), list[1] = { gdt };
    uint64_t *page = (uint64_t *)SCRATCH;
    uint64_t gdt_ma = (uint64_t)gdt << 12;
    unsigned long ds = 0;

    HYPERVISOR_update_va_mapping(SCRATCH, gdt_ma | PTE_RW, UVMF_INVLPG);
    memset(page, 0, 4096);
    page[1] = segment(3, 1, 0xF6800);                /* user code, up to the end of the M2P */
    page[2] = segment(3, 0, 0xF6800);                /* user data */
    check("set_gdt while the frame is mapped writable", HYPERVISOR_set_gdt(list, 3), -EINVAL);
    HYPERVISOR_update_va_mapping(SCRATCH, gdt_ma | PTE_RO, UVMF_INVLPG);
    check("set_gdt(3 entries)", HYPERVISOR_set_gdt(list, 3), 0);
    check("map the live GDT frame writable", HYPERVISOR_update_va_mapping(SCRATCH, gdt_ma | PTE_RW, UVMF_INVLPG), -EINVAL);
    asm volatile("movl %%ds, %0\n\tmovl %1, %%ds\n\tmovl (%2), %%eax\n\tmovl %0, %%ds"
                 : "=&r"(ds) : "r"(0x13UL), "r"(si) : "eax", "memory");
    check("  ...loaded DS from it (selector 0x13) and back", ds, FLAT_RING1_DS);
    check("update_descriptor(entry 3, a DPL-3 data segment)", HYPERVISOR_update_descriptor(gdt_ma + 24, segment(3, 0, 16)), 0);
    check("update_descriptor(entry 3, DPL 0)", HYPERVISOR_update_descriptor(gdt_ma + 24, segment(0, 0, 16)), -EINVAL);
    check("update_descriptor(a call gate)", HYPERVISOR_update_descriptor(gdt_ma + 24, (0x8C00ULL | (1ULL << 15)) << 32), -EINVAL);
    check("update_descriptor(reaching into Xen's hole)", HYPERVISOR_update_descriptor(gdt_ma + 24, segment(3, 0, 0xF6801)), -EINVAL);
    check("update_descriptor(misaligned)", HYPERVISOR_update_descriptor(gdt_ma + 4, segment(3, 0, 16)), -EINVAL);
    check("set_gdt(7169 entries: into Xen's own)", HYPERVISOR_set_gdt(list, 7169), -EINVAL);
    check("update_descriptor(a frame of Xen's)", HYPERVISOR_update_descriptor(XEN_FRAME_0, segment(3, 0, 16)), -EINVAL);
}

static int set_ldt(unsigned long va, unsigned int entries)
{
    struct mmuext_op op = { .cmd = MMUEXT_SET_LDT, .arg1.linear_addr = va, .arg2.nr_ents = entries };
    return HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
}

static void local_descriptors(void)
{
    unsigned long ldt_pfn = si->nr_pages - 21, ldt = mfn_of(ldt_pfn);
    unsigned long ldt_va = SCRATCH + 0x1000;
    uint64_t *page = (uint64_t *)ldt_va;
    unsigned long ds = 0;

    HYPERVISOR_update_va_mapping(ldt_va, ((uint64_t)ldt << 12) | PTE_RW, UVMF_INVLPG);
    memset(page, 0, 4096);
    page[1] = segment(3, 0, 0xF6800);                /* LDT entry 1: user data */
    check("SET_LDT while its page is mapped writable", set_ldt(ldt_va, 2), -EINVAL);
    HYPERVISOR_update_va_mapping(ldt_va, ((uint64_t)ldt << 12) | PTE_RO, UVMF_INVLPG);
    check("SET_LDT at a misaligned address", set_ldt(ldt_va + 8, 2), -EINVAL);
    check("SET_LDT(2 entries)", set_ldt(ldt_va, 2), 0);
    asm volatile("movl %%ds, %0\n\tmovl %1, %%ds\n\tmovl (%2), %%eax\n\tmovl %0, %%ds"
                 : "=&r"(ds) : "r"(0x0FUL), "r"(si) : "eax", "memory");
    check("  ...loaded DS from it (selector 0x0f: LDT, RPL 3) and back", ds, FLAT_RING1_DS);
    check("remap the LDT's address writable", HYPERVISOR_update_va_mapping(ldt_va, ((uint64_t)ldt << 12) | PTE_RW, UVMF_INVLPG), -EINVAL);
    check("SET_LDT(0): no LDT", set_ldt(0, 0), 0);
    check("  ...now its page may be mapped writable", HYPERVISOR_update_va_mapping(ldt_va, ((uint64_t)ldt << 12) | PTE_RW, UVMF_INVLPG), 0);
    HYPERVISOR_update_va_mapping(ldt_va, 0, UVMF_INVLPG);
}

void start_kernel(start_info_t *start_info)
{
    si = start_info;
    balloon();
    descriptors();
    local_descriptors();
    checks_done();
}
