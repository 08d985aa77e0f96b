/*
 * arch.h — what the machine-independent part of xenolite (kalloc.c, vm.c,
 * proc.c, trap.c, syscall.c) needs from the machine, and the Xen port of it
 * (arch/xen/).
 *
 * A native x86 port would keep every name and change the bodies: set_pte()
 * would be a plain store, switch_page_tables() a `mov %eax, %cr3`, and
 * there would be no mfns at all. Under Xen the guest's page tables are the
 * real ones, but the guest may only read them: every write is a request to
 * Xen, which checks it (paper §3.3.3). That one difference is this file.
 */
#ifndef XENOLITE_ARCH_H
#define XENOLITE_ARCH_H

#include <hypervisor.h>
#include "mmu.h"
#include "param.h"

/*
 * Pseudo-physical and machine frames (paper §3.3.4). Our memory is pfns
 * 0..nr_pages-1, contiguous; the real frames behind them (mfns) are
 * scattered. start_info.mfn_list is our pfn -> mfn table; Xen keeps the
 * global mfn -> pfn table (the M2P) mapped read-only at MACH2PHYS_VIRT_START.
 * The kernel maps every pfn at KERNBASE + pfn * PGSIZE (the "direct map",
 * built by kmap_init()), so pfn <-> kernel virtual address is arithmetic.
 */
extern unsigned long *phys_to_machine_mapping;
#define machine_to_phys_mapping ((const unsigned long *)MACH2PHYS_VIRT_START)

static inline unsigned long pfn_to_mfn(unsigned long pfn) { return phys_to_machine_mapping[pfn]; }
static inline unsigned long mfn_to_pfn(unsigned long mfn) { return machine_to_phys_mapping[mfn]; }
static inline void *pfn_to_virt(unsigned long pfn) { return (void *)(KERNBASE + (pfn << 12)); }
static inline unsigned long virt_to_pfn(const void *va)
{
    return ((unsigned long)va - KERNBASE) >> 12;
}
static inline unsigned long virt_to_mfn(const void *va) { return pfn_to_mfn(virt_to_pfn(va)); }
static inline void *mfn_to_virt(unsigned long mfn) { return pfn_to_virt(mfn_to_pfn(mfn)); }

/* The machine address of a kernel virtual address: what Xen calls a PTE's "ptr". */
static inline uint64_t virt_to_machine(const void *va)
{
    return ((uint64_t)virt_to_mfn(va) << 12) | ((unsigned long)va & (PGSIZE - 1));
}

/* An entry pointing at the page whose kernel address is `page`. */
static inline pte_t mk_pte(const void *page, pte_t flags)
{
    return ((pte_t)virt_to_mfn(page) << 12) | flags;
}

/* The kernel address of the page (or next-level table) an entry points at. */
static inline void *pte_page(pte_t pte) { return mfn_to_virt(PTE_MFN(pte)); }

/* Flags of a direct-map entry: kernel-only (no PTE_U), writable unless a page table. */
#define KERNEL_PTE      (PTE_P | PTE_W | PTE_A | PTE_D)

/*
 * The frame Xen builds on the ring-1 stack for a trap ("bounce frame",
 * paper §2.1.2), completed by arch/xen/entry.S. Pushed last first: Xen
 * pushes ss..eip (and err for #GP/#PF); the stub the vector number (and a
 * 0 err where Xen pushed none); alltraps ds, es and pushal's registers.
 */
struct trapframe {
    uint32_t edi, esi, ebp, oesp, ebx, edx, ecx, eax;   /* pushal */
    uint32_t es, ds;
    uint32_t trapno, err;
    uint32_t eip;
    uint32_t cs;            /* selector in 0-15; Xen keeps the saved event mask in 16-23 */
    uint32_t eflags;
    uint32_t esp, ss;       /* only when the trap came from ring 3 */
};

static inline int from_user(const struct trapframe *tf) { return (tf->cs & 3) == 3; }

/* arch/xen/setup.c: start of day */
extern pte_t *boot_l3;          /* the builder's L3: an address space with only the kernel */
extern pte_t *kernel_l2;        /* the top L2 (L3 slot 3) every address space shares */
void arch_setup(start_info_t *si);
unsigned long kmap_init(start_info_t *si);
void arch_set_kernel_stack(void *top);
unsigned long arch_fault_address(void);

/* arch/xen/timer.c: the clock tick (VIRQ_TIMER) and idling (SCHEDOP_block) */
uint64_t arch_system_time(void);
void arch_timer_init(unsigned long tick_us, void (*handler)(void));
int arch_events_pending(void);
void arch_handle_events(void);
void arch_idle(void);

/* arch/xen/mmu.c: page-table updates, batched (paper §3.3.3) */
struct mmu_stats {
    unsigned int batches;       /* mmu_update hypercalls */
    unsigned int updates;       /* entries they carried */
    unsigned int largest;       /* the longest batch */
};
extern struct mmu_stats mmu_stats;
void set_pte(pte_t *ptep, pte_t val);
void set_update_batch(unsigned long n);
void flush_page_update_queue(void);
void make_page_readonly(void *page);
void make_page_writable(void *page);
void pin_l3_table(pte_t *l3);
void unpin_table(pte_t *table);
void switch_page_tables(pte_t *l3);
pte_t *current_page_tables(void);
void flush_tlb(void);
void flush_tlb_page(unsigned long va);

/* arch/xen/entry.S: the handlers named in the trap table, and the way back */
void divide_error(void);
void invalid_op(void);
void general_protection(void);
void page_fault(void);
void system_call(void);
void event_callback(void);
void trapret(void);

#endif /* XENOLITE_ARCH_H */
