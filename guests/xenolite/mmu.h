/*
 * mmu.h — the x86 PAE page-table format, as both xenolite and Xen read it.
 *
 * Three levels: an L3 of 4 entries (one per GiB), L2s and L1s of 512
 * entries, every entry 8 bytes. Under Xen an entry holds a MACHINE frame
 * number (mfn), not a pseudo-physical one: the guest's page tables are the
 * ones the real MMU walks (paper §3.3.3, "no shadow page tables").
 */
#ifndef XENOLITE_MMU_H
#define XENOLITE_MMU_H

#include <stdint.h>

typedef uint64_t pte_t;                 /* an entry of any level */

#define PGSIZE          4096UL
#define PGROUNDDOWN(a)  ((unsigned long)(a) & ~(PGSIZE - 1))
#define PGROUNDUP(a)    (((unsigned long)(a) + PGSIZE - 1) & ~(PGSIZE - 1))
#define NPTENTRIES      512             /* entries in an L2 or L1 */
#define NL3ENTRIES      4

/* The index of va in each level. */
#define L3X(va)         (((unsigned long)(va) >> 30) & 3)
#define L2X(va)         (((unsigned long)(va) >> 21) & 511)
#define L1X(va)         (((unsigned long)(va) >> 12) & 511)

#define PTE_P           0x001ULL        /* present */
#define PTE_W           0x002ULL        /* writable */
#define PTE_U           0x004ULL        /* user (ring 3) may access */
#define PTE_A           0x020ULL        /* accessed */
#define PTE_D           0x040ULL        /* dirty */
#define PTE_COW         0x200ULL        /* bit 9, free for software: copy on write */
#define PTE_ADDR        0x000FFFFFFFFFF000ULL

#define PTE_MFN(pte)    ((unsigned long)(((pte) & PTE_ADDR) >> 12))
#define PTE_FLAGS(pte)  ((pte) & ~PTE_ADDR)

/* Page-fault error code bits. */
#define FEC_PR          0x1             /* 0: page not present; 1: protection violation */
#define FEC_WR          0x2             /* the access was a write */
#define FEC_U           0x4             /* the access came from ring 3 */

#endif /* XENOLITE_MMU_H */
