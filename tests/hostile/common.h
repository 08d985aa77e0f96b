/*
 * common.h — what every hostile guest shares.  The test suite copies this file next to an
 * attack's main.c and builds the two as one guest (tests/hostile/conftest.py).
 *
 * An attack defines `static void attack(void)`.  start_kernel() below maps shared_info,
 * installs a #GP/#PF catcher, runs the attack and ends with "attack refused" and a
 * poweroff if every check matched, or "ATTACK NOT REFUSED" and a crash otherwise.
 *
 * Output: one line per check, "<what> = <value>  ok|FAIL".  Lines starting with "# "
 * name frames for the test to verify ("# foreign frame 0x1234"); they are not checks.
 *
 * How a PV guest finds its way around (as guests/mmu does): start_info.mfn_list maps its
 * pseudo-physical frames to machine frames, the read-only M2P at MACH2PHYS_VIRT_START maps
 * back, and the boot page tables sit in the 1:1 region (read-only), so a table's entries
 * can be read at VIRT_BASE + (M2P[mfn] << 12).
 */
#ifndef HOSTILE_COMMON_H
#define HOSTILE_COMMON_H

#include <stdarg.h>
#include <stdint.h>

#include <cmdline.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <lib.h>
#include <xen/memory.h>

/* Each attack uses only some of the helpers below. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-variable"

#define VIRT_BASE    0xC0000000UL
#define SCRATCH      0xC0180000UL  /* 16 pages in the first L1, unmapped at boot */
#define EDIT         0xC01C0000UL  /* where edit() maps a frame writable */
#define FREE_L2_VA   0xC0800000UL  /* covered by a free slot (4) of the top L2 */
#define M2P          ((const volatile unsigned long *)MACH2PHYS_VIRT_START)
#define M2P_INVALID  0xFFFFFFFFUL
#define GDT_WINDOW   0xFC000000UL  /* Xen's per-domain GDT window (16 pages) */
#define XEN_GDT_PAGE (GDT_WINDOW + 14 * 4096UL)  /* Xen's flat selectors */
#define BEYOND_MFN   0xFFFFFUL     /* far beyond any machine memory xenlab emulates */
#define XEN_L2_M2P   428           /* hole slots of the top L2: the M2P's L1 ... */
#define XEN_L2_GDT   480           /* ... and the per-domain (GDT window) L1 */

#define PTE_P    0x001ULL
#define PTE_RW   0x002ULL
#define PTE_US   0x004ULL
#define PTE_A    0x020ULL
#define PTE_D    0x040ULL
#define PTE_PSE  0x080ULL
#define PTE_NX   (1ULL << 63)
/* Accessed and dirty preset, so the CPU never writes the entry (tables stay comparable). */
#define PTE_DATA (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)
#define PTE_RO   (PTE_P | PTE_US | PTE_A)
#define L2E_FLAGS (PTE_P | PTE_RW | PTE_US | PTE_A)
#define ADDR_MASK 0x000FFFFFFFFFF000ULL

/* #PF error codes from ring 1 (supervisor) */
#define PF_READ_NOT_PRESENT  0x0
#define PF_WRITE_NOT_PRESENT 0x2
#define PF_WRITE_READ_ONLY   0x3
#define NO_FAULT             (-1L)

static const start_info_t *si;
static int failures;

static void attack(void);

/* ------------------------------------------------------------------ checks */
static void vcheck(long got, long want, const char *fmt, va_list ap)
{
    char what[160];

    vsnprintf(what, sizeof(what), fmt, ap);
    if (got == want) {
        printk("%s = %ld  ok\n", what, got);
    } else {
        printk("%s = %ld  FAIL (want %ld)\n", what, got, want);
        failures++;
    }
}

/* check(got, want, "what", ...): print "<what> = <got>  ok|FAIL". */
__attribute__((format(printf, 3, 4)))
static void check(long got, long want, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vcheck(got, want, fmt, ap);
    va_end(ap);
}

/* same(cond, "what"): a proof that something did not change ("= 1  ok"). */
__attribute__((format(printf, 2, 3)))
static void same(int cond, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vcheck(cond != 0, 1, fmt, ap);
    va_end(ap);
}

/* A frame the test should verify ("# free frame 0x...": not a check). */
static void name_frame(const char *kind, unsigned long mfn)
{
    printk("# %s frame 0x%lx\n", kind, mfn);
}

__attribute__((noreturn))
static void give_up(const char *why)
{
    printk("setup failed: %s\n", why);
    shutdown(SHUTDOWN_crash);
}

/* ------------------------------------------------------------------ frames */
static unsigned long mfn_of(unsigned long pfn) { return ((const unsigned long *)si->mfn_list)[pfn]; }

/* An own frame that nothing maps at boot (the last pseudo-physical pages). */
static unsigned long spare(unsigned int k) { return mfn_of(si->nr_pages - 1 - k); }

static int mine(unsigned long mfn)
{
    unsigned long pfn = M2P[mfn];

    return pfn < si->nr_pages && mfn_of(pfn) == mfn;
}

/* A frame another domain owns: its M2P entry is valid but not one of ours. */
static unsigned long foreign_frame(void)
{
    unsigned long mfn;

    for (mfn = 1; mfn < 0x10000; mfn++)
        if (M2P[mfn] != M2P_INVALID && !mine(mfn))
            return mfn;
    give_up("no frame of another domain in the M2P");
}

/* A frame nobody owns: the first one after my first frame with an invalid M2P entry
 * (Xen's own frames have invalid entries too, but there are few of them). */
static unsigned long free_frame(void)
{
    unsigned long mfn;

    for (mfn = mfn_of(0) + 1; mfn < 0x10000; mfn++)
        if (M2P[mfn] == M2P_INVALID)
            return mfn;
    give_up("no free frame after my first one");
}

static unsigned long victim_domid(void)
{
    unsigned long domid = cmdline_ulong((const char *)si->cmd_line, "victim", 0xFFFF);

    if (domid == 0xFFFF)
        give_up("no victim=<domid> on the command line");
    return domid;
}

/* ------------------------------------------------------------------ page tables */
static uint64_t pte(unsigned long mfn, uint64_t flags) { return ((uint64_t)mfn << 12) | flags; }
static unsigned long entry_mfn(uint64_t e) { return (unsigned long)((e & ADDR_MASK) >> 12); }

/* A boot page table, read-only, through the 1:1 region. */
static volatile uint64_t *table(unsigned long mfn)
{
    return (volatile uint64_t *)(VIRT_BASE + (M2P[mfn] << 12));
}

static volatile uint64_t *l3(void) { return (volatile uint64_t *)si->pt_base; }
static unsigned long l3_mfn(void) { return mfn_of((si->pt_base - VIRT_BASE) >> 12); }
static unsigned long l2_mfn(unsigned long va) { return entry_mfn(l3()[va >> 30]); }
static unsigned long l1_mfn(unsigned long va) { return entry_mfn(table(l2_mfn(va))[(va >> 21) & 511]); }
static unsigned long top_l2_mfn(void) { return l2_mfn(VIRT_BASE); }
static unsigned long kernel_l1_mfn(void) { return l1_mfn(VIRT_BASE); }
static unsigned long m2p_l1_mfn(void) { return entry_mfn(table(top_l2_mfn())[XEN_L2_M2P]); }
static unsigned long gdt_l1_mfn(void) { return entry_mfn(table(top_l2_mfn())[XEN_L2_GDT]); }
static unsigned long kernel_data_mfn(void) { return mfn_of(0); }  /* the image's first page */

/* Machine addresses of the entries that map va, and their values. */
static uint64_t l3e_ma(unsigned int slot) { return pte(l3_mfn(), 0) + 8 * slot; }
static uint64_t l2e_ma(unsigned long va) { return pte(l2_mfn(va), 0) + 8 * ((va >> 21) & 511); }
static uint64_t l1e_ma(unsigned long va) { return pte(l1_mfn(va), 0) + 8 * ((va >> 12) & 511); }
static uint64_t l2e(unsigned long va) { return table(l2_mfn(va))[(va >> 21) & 511]; }
static uint64_t l1e(unsigned long va) { return table(l1_mfn(va))[(va >> 12) & 511]; }
static uint64_t top_l2e(unsigned int slot) { return table(top_l2_mfn())[slot]; }

static unsigned long sum(const volatile void *p, unsigned long bytes)
{
    const volatile unsigned long *w = p;
    unsigned long h = 2166136261UL, i;

    for (i = 0; i < bytes / 4; i++)
        h = (h ^ w[i]) * 16777619UL;
    return h;
}

/* ------------------------------------------------------------------ hypercalls */
static int map(unsigned long va, uint64_t entry)
{
    return HYPERVISOR_update_va_mapping(va, entry, UVMF_INVLPG);
}

static int mmu_done;

static int mmu1(uint64_t ptr, uint64_t val)
{
    struct mmu_update req = { .ptr = ptr, .val = val };

    mmu_done = -1;
    return HYPERVISOR_mmu_update(&req, 1, &mmu_done, DOMID_SELF);
}

static int ext_done;

static int ext2(unsigned int cmd, unsigned long arg1, unsigned long arg2)
{
    struct mmuext_op op = { .cmd = cmd, .arg1.mfn = arg1, .arg2.src_mfn = arg2 };

    ext_done = -1;
    return HYPERVISOR_mmuext_op(&op, 1, &ext_done, DOMID_SELF);
}

static int ext(unsigned int cmd, unsigned long mfn) { return ext2(cmd, mfn, 0); }

/* Map an own, untyped frame writable at EDIT (to fill it in); edit_done() unmaps it. */
static volatile uint64_t *edit(unsigned long mfn)
{
    if (map(EDIT, pte(mfn, PTE_DATA)))
        give_up("cannot map a spare frame writable");
    return (volatile uint64_t *)EDIT;
}

static volatile uint64_t *fresh(unsigned long mfn)
{
    volatile uint64_t *page = edit(mfn);
    int i;

    for (i = 0; i < 512; i++)
        page[i] = 0;
    return page;
}

static void edit_done(void) { map(EDIT, 0); }

/*
 * A second address space in two spare frames: a fresh top L2 whose slot 0 is my kernel's
 * L1 (so the guest can run on it) and a fresh L3 whose slot 3 is that L2 with `flags`.
 */
static void build_address_space(unsigned long new_l3, unsigned long new_l2, uint64_t flags)
{
    volatile uint64_t *page = fresh(new_l2);

    page[0] = top_l2e(0);
    page = fresh(new_l3);
    page[3] = pte(new_l2, flags);
    edit_done();
}

/* ------------------------------------------------------------------ descriptors */
#define SEG_CODE     0xB        /* execute/read, accessed (the GDT is read-only to the CPU) */
#define SEG_DATA     0x3        /* read/write, accessed */
#define SYS_LDT      0x2        /* system types (S bit clear) */
#define SYS_TSS      0x9
#define SYS_CALLGATE 0xC
#define SYS_INTGATE  0xE
#define GUEST_LIMIT  0xF67FFUL  /* in 4 KiB units: up to 0xF67FFFFF, the end of the M2P */

/* A present descriptor: base, 20-bit limit (4 KiB units if g), type, S bit, DPL, 32-bit. */
static uint64_t descriptor(unsigned long base, unsigned long limit, unsigned int type, unsigned int s,
                           unsigned int dpl, unsigned int g)
{
    uint32_t lo = (limit & 0xFFFF) | ((base & 0xFFFF) << 16);
    uint32_t hi = ((base >> 16) & 0xFF) | (type << 8) | (s << 12) | (dpl << 13) | (1U << 15) |
                  (limit & 0xF0000) | (1U << 22) | (g << 23) | (base & 0xFF000000UL);

    return ((uint64_t)hi << 32) | lo;
}

static uint64_t flat(unsigned int type, unsigned int dpl) { return descriptor(0, GUEST_LIMIT, type, 1, dpl, 1); }

/* Fill an own spare frame with descriptors (entries 1..n; 0 is the null descriptor) and
 * leave it mapped nowhere, as set_gdt wants its frames. */
static void gdt_frame(unsigned long mfn, const uint64_t *descs, unsigned int n)
{
    volatile uint64_t *page = fresh(mfn);
    unsigned int i;

    for (i = 0; i < n; i++)
        page[1 + i] = descs[i];
    edit_done();
}

static int set_gdt1(unsigned long mfn, int entries)
{
    unsigned long frames[1] = { mfn };

    return HYPERVISOR_set_gdt(frames, entries);
}

/* ------------------------------------------------------------------ balloon */
static int reservation(unsigned int cmd, unsigned long *extents, unsigned long n, unsigned int order,
                       domid_t domid)
{
    struct xen_memory_reservation r = {
        .extent_start = extents, .nr_extents = n, .extent_order = order, .domid = domid,
    };

    return HYPERVISOR_memory_op(cmd, &r);
}

static int release(unsigned long *mfns, unsigned long n)
{
    return reservation(XENMEM_decrease_reservation, mfns, n, 0, DOMID_SELF);
}

static int release1(unsigned long mfn) { return release(&mfn, 1); }

/* ------------------------------------------------------------------ faults */
/*
 * The catcher: #GP and #PF bounce to hostile_fault, which logs vector, error code, EIP
 * and vcpu_info.arch.cr2 and resumes at fault_resume (set by the probe that expects the
 * fault).  A fault nobody expected ends the guest.
 */
struct fault_record {
    unsigned long vector, error, eip, cr2;
};
struct fault_record faults[16];
unsigned long nr_faults;
unsigned long fault_resume;
void hostile_pf_entry(void);
void hostile_gp_entry(void);

__attribute__((used, noreturn)) void hostile_unexpected_fault(void)
{
    const struct fault_record *f = &faults[(nr_faults - 1) & 15];

    printk("unexpected fault: vector %lu error 0x%lx eip 0x%lx cr2 0x%lx\n", f->vector, f->error,
           f->eip, f->cr2);
    shutdown(SHUTDOWN_crash);
}

asm(".text\n"
    "hostile_pf_entry:\n"
    "    pushl $14\n"
    "    jmp hostile_fault\n"
    "hostile_gp_entry:\n"
    "    pushl $13\n"
    "hostile_fault:\n"                      /* vector, error, eip, cs, eflags [esp ss] */
    "    pushl %eax\n"
    "    pushl %ecx\n"                      /* ecx eax vector error eip ... */
    "    movl nr_faults, %ecx\n"
    "    andl $15, %ecx\n"
    "    shll $4, %ecx\n"
    "    movl 8(%esp), %eax\n"
    "    movl %eax, faults(%ecx)\n"
    "    movl 12(%esp), %eax\n"
    "    movl %eax, faults+4(%ecx)\n"
    "    movl 16(%esp), %eax\n"
    "    movl %eax, faults+8(%ecx)\n"
    "    movl shared_info+8, %eax\n"        /* vcpu_info[0].arch.cr2 */
    "    movl %eax, faults+12(%ecx)\n"
    "    incl nr_faults\n"
    "    movl fault_resume, %eax\n"
    "    testl %eax, %eax\n"
    "    jz hostile_unexpected_fault\n"
    "    movl %eax, 16(%esp)\n"             /* resume there instead */
    "    movl $0, fault_resume\n"
    "    popl %ecx\n"
    "    popl %eax\n"
    "    addl $8, %esp\n"                   /* vector, error code */
    "    iret\n");

static const struct fault_record *last_fault(void) { return &faults[(nr_faults - 1) & 15]; }

/* Store val at va; the #PF error code if it faulted (cr2 in last_fault()), else NO_FAULT. */
static long probe_store(unsigned long va, unsigned long val)
{
    unsigned long before = nr_faults;

    asm volatile("movl $1f, %0\n\t"
                 "movl %2, (%1)\n"
                 "1:\n\t"
                 "movl $0, %0"
                 : "+m"(fault_resume) : "r"(va), "r"(val) : "memory");
    return nr_faults != before ? (long)last_fault()->error : NO_FAULT;
}

static long probe_load(unsigned long va)
{
    unsigned long before = nr_faults, val = 0;

    asm volatile("movl $1f, %0\n\t"
                 "movl (%2), %1\n"
                 "1:\n\t"
                 "movl $0, %0"
                 : "+m"(fault_resume), "+r"(val) : "r"(va) : "memory");
    return nr_faults != before ? (long)last_fault()->error : NO_FAULT;
}

static int faulted_at(unsigned long va) { return last_fault()->cr2 == va; }

/* ------------------------------------------------------------------ start of day */
/* The verdict: every check matched, or not. */
__attribute__((noreturn))
static void finish(void)
{
    if (failures) {
        printk("ATTACK NOT REFUSED (%d checks failed)\n", failures);
        shutdown(SHUTDOWN_crash);
    }
    printk("attack refused\n");
    shutdown(SHUTDOWN_poweroff);
}

void start_kernel(start_info_t *start_info)
{
    static struct trap_info traps[] = {
        { 13, 0, FLAT_RING1_CS, (unsigned long)hostile_gp_entry },
        { 14, 0, FLAT_RING1_CS, (unsigned long)hostile_pf_entry },
        { 0, 0, 0, 0 },
    };
    unsigned int i;

    si = start_info;
    /* shared_info over the page head.S reserves (as map_shared_info() does, but with the
     * accessed and dirty bits preset: the CPU then never changes my kernel L1 by itself). */
    if (map((unsigned long)shared_info, (si->shared_info & ~0xFFFULL) | PTE_DATA))
        give_up("cannot map shared_info");
    if (HYPERVISOR_set_trap_table(traps))
        give_up("cannot install the trap table");
    if (si->nr_pages < 512)
        give_up("too little memory for the spare frames");
    for (i = 0; i < 16; i++)
        if (l1e(SCRATCH + i * 4096UL) || l1e(EDIT + i * 4096UL))
            give_up("the scratch pages are mapped at boot");
    if (l2e(FREE_L2_VA))
        give_up("the free L2 slot is in use");

    attack();
    finish();
}

#endif /* HOSTILE_COMMON_H */
