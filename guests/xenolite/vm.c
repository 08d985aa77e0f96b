/*
 * vm.c — user address spaces.
 *
 * Every process has its own L3, pinned for as long as the process lives.
 * L3 slot 3 points at the kernel's top L2 — the same frame in every
 * address space, so the kernel is mapped identically everywhere and a
 * switch never touches it. User memory lives in slots 0-2, in L2s and L1s
 * private to the process, created on first use.
 *
 * Nothing here writes a live page table: entries change through set_pte(),
 * which Xen checks (paper §3.3.3). Only tables that are not yet page tables
 * — the frames of a brand-new tree in uvm_copy() — are filled with plain
 * stores, then made read-only and handed to Xen to validate in one go.
 *
 * Pages are allocated lazily: the stack and heap windows are demand-zero
 * (a fault there gets a fresh zeroed page), and fork() shares every page
 * read-only with PTE_COW set, copying one only when someone writes to it.
 */
#include <lib.h>
#include "defs.h"

struct vm_stats vm_stats;

/*
 * The L1 entry for va in the address space l3, creating the L2 and L1 on
 * the way if alloc (0 if one is missing and !alloc, or memory ran out). A
 * new table is zeroed while writable, made read-only and linked into its
 * parent; the queue is flushed at once, because the next walk through the
 * parent must read the new link back from the table itself.
 */
static pte_t *walk(pte_t *l3, unsigned long va, int alloc)
{
    pte_t *pte = &l3[L3X(va)];
    int level;

    for (level = 3; level > 1; level--) {
        pte_t *table;

        if (!(*pte & PTE_P)) {
            if (!alloc || !(table = kalloc()))
                return 0;
            make_page_readonly(table);
            /* PAE L3 entries carry nothing but the present bit. */
            set_pte(pte, mk_pte(table, level == 3 ? PTE_P : PTE_P | PTE_W | PTE_U | PTE_A));
            flush_page_update_queue();
        }
        table = pte_page(*pte);
        pte = &table[level == 3 ? L2X(va) : L1X(va)];
    }
    return pte;
}

/* A new address space with only the kernel in it, pinned. */
pte_t *uvm_create(void)
{
    pte_t *l3 = kalloc();

    if (!l3)
        return 0;
    l3[3] = boot_l3[3];                 /* the shared kernel L2 */
    make_page_readonly(l3);
    pin_l3_table(l3);
    return l3;
}

/* Copy a program into fresh pages at va, mapped read-only for ring 3. */
int uvm_load(pte_t *l3, unsigned long va, const char *src, unsigned long len)
{
    unsigned long off;

    for (off = 0; off < len; off += PGSIZE) {
        char *page = kalloc();
        pte_t *pte;

        if (!page)
            return -1;
        memcpy(page, src + off, len - off < PGSIZE ? len - off : PGSIZE);
        if (!(pte = walk(l3, va + off, 1))) {
            kfree(page);
            return -1;
        }
        set_pte(pte, mk_pte(page, PTE_P | PTE_U | PTE_A));
    }
    flush_page_update_queue();
    return 0;
}

/*
 * fork: a copy of the address space l3 (the current one) that shares every
 * page. Writable pages become read-only + PTE_COW in both parent and child.
 * The child's tables are built with plain stores while they are ordinary
 * pages, then made read-only, and pinning the new L3 has Xen validate the
 * whole tree at once. The parent's downgrades are queued with the child's
 * read-only flips: one mmu_update for the lot, then a TLB flush so the
 * parent cannot keep writing through a stale writable TLB entry.
 * Out of memory while copying is a panic (kept simple: a teaching kernel).
 */
pte_t *uvm_copy(pte_t *l3)
{
    pte_t *child = kalloc();
    int i, j, k;

    if (!child)
        panic("fork: out of memory");
    child[3] = l3[3];
    for (i = 0; i < 3; i++) {
        pte_t *l2, *cl2;

        if (!(l3[i] & PTE_P))
            continue;
        l2 = pte_page(l3[i]);
        if (!(cl2 = kalloc()))
            panic("fork: out of memory");
        child[i] = mk_pte(cl2, PTE_FLAGS(l3[i]));
        for (j = 0; j < NPTENTRIES; j++) {
            pte_t *l1, *cl1;

            if (!(l2[j] & PTE_P))
                continue;
            l1 = pte_page(l2[j]);
            if (!(cl1 = kalloc()))
                panic("fork: out of memory");
            cl2[j] = mk_pte(cl1, PTE_FLAGS(l2[j]));
            for (k = 0; k < NPTENTRIES; k++) {
                pte_t pte = l1[k];

                if (!(pte & PTE_P))
                    continue;
                if (pte & PTE_W) {
                    pte = (pte & ~(PTE_W | PTE_D)) | PTE_COW;
                    set_pte(&l1[k], pte);
                }
                cl1[k] = pte;
                kref(pte_page(pte));
            }
            make_page_readonly(cl1);
        }
        make_page_readonly(cl2);
    }
    make_page_readonly(child);
    flush_tlb();                        /* flushes the queue first */
    pin_l3_table(child);
    return child;
}

/*
 * exit: free an address space that is not the current one. Unpinning makes
 * Xen drop its validation of the whole tree (and the references its entries
 * hold); then the user pages lose our reference, and the table frames,
 * writable again, go back to the allocator.
 */
void uvm_free(pte_t *l3)
{
    int i, j, k;

    if (l3 == current_page_tables())
        panic("uvm_free: the address space is in use");
    unpin_table(l3);
    for (i = 0; i < 3; i++) {
        pte_t *l2;

        if (!(l3[i] & PTE_P))
            continue;
        l2 = pte_page(l3[i]);
        for (j = 0; j < NPTENTRIES; j++) {
            pte_t *l1;

            if (!(l2[j] & PTE_P))
                continue;
            l1 = pte_page(l2[j]);
            for (k = 0; k < NPTENTRIES; k++)
                if (l1[k] & PTE_P)
                    kfree(pte_page(l1[k]));
            make_page_writable(l1);
        }
        make_page_writable(l2);
    }
    make_page_writable(l3);
    flush_page_update_queue();
    /* Ordinary pages again; kfree writes its list link into each. */
    for (i = 0; i < 3; i++) {
        pte_t *l2;

        if (!(l3[i] & PTE_P))
            continue;
        l2 = pte_page(l3[i]);
        for (j = 0; j < NPTENTRIES; j++)
            if (l2[j] & PTE_P)
                kfree(pte_page(l2[j]));
        kfree(l2);
    }
    kfree(l3);
}

static int demand_zero(unsigned long va)
{
    return (va >= USER_STACK_LOW && va < USER_STACK_TOP) || (va >= USER_HEAP && va < USER_HEAP_END);
}

/* A write to a copy-on-write page: copy it, unless no one else shares it any more. */
static int cow(pte_t *l3, pte_t *pte, unsigned long va)
{
    void *old = pte_page(*pte), *new;
    pte_t flags = (PTE_FLAGS(*pte) & ~PTE_COW) | PTE_W | PTE_D;

    if (krefcount(old) == 1) {
        /* The last sharer: just take write access back (no TLB flush needed to grant rights). */
        set_pte(pte, mk_pte(old, flags));
        flush_page_update_queue();
        vm_stats.cow_reuses++;
        return 0;
    }
    if (!(new = kalloc()))
        return -1;
    memcpy(new, old, PGSIZE);
    set_pte(pte, mk_pte(new, flags));
    kfree(old);
    vm_stats.cow_copies++;
    if (l3 == current_page_tables())
        flush_tlb_page(va);             /* the old read-only translation must go */
    else
        flush_page_update_queue();      /* not loaded: nothing cached to flush */
    return 0;
}

/*
 * Make the user page at va accessible for a read (or a write) in the
 * address space l3, as the MMU needs it: 0 on success, -1 if the access is
 * not allowed (the process gets killed). Called on a #PF, and by
 * copyin/copyout before the kernel touches user memory.
 */
int uvm_fault(pte_t *l3, unsigned long va, int write)
{
    pte_t *pte;
    void *page;

    if (va >= USER_TOP)
        return -1;
    va = PGROUNDDOWN(va);
    pte = walk(l3, va, 0);
    if (pte && *pte & PTE_P) {
        if (!(*pte & PTE_U))
            return -1;
        if (!write || *pte & PTE_W)
            return 0;                   /* already fine: nothing to do */
        return *pte & PTE_COW ? cow(l3, pte, va) : -1;
    }
    if (!demand_zero(va) || !(page = kalloc()))
        return -1;
    if (!(pte = walk(l3, va, 1))) {
        kfree(page);
        return -1;
    }
    set_pte(pte, mk_pte(page, PTE_P | PTE_W | PTE_U | PTE_A | PTE_D));
    flush_page_update_queue();
    vm_stats.zero_fills++;
    return 0;
}

/*
 * Copy between the kernel and user memory of l3 through the direct map,
 * one page at a time, after uvm_fault() has made each page present (and
 * private, for a write) — so the kernel itself never faults on user memory.
 */
static int copy_user(pte_t *l3, unsigned long va, char *kbuf, unsigned long len, int to_user)
{
    while (len > 0) {
        unsigned long off = va & (PGSIZE - 1), n = PGSIZE - off < len ? PGSIZE - off : len;
        char *page;

        if (va >= USER_TOP || uvm_fault(l3, va, to_user) < 0)
            return -1;
        page = pte_page(*walk(l3, va, 0));
        if (to_user)
            memcpy(page + off, kbuf, n);
        else
            memcpy(kbuf, page + off, n);
        va += n;
        kbuf += n;
        len -= n;
    }
    return 0;
}

int copyout(pte_t *l3, unsigned long va, const void *src, unsigned long len)
{
    return copy_user(l3, va, (char *)src, len, 1);
}

int copyin(pte_t *l3, void *dst, unsigned long va, unsigned long len)
{
    return copy_user(l3, va, dst, len, 0);
}

/*
 * The machine frame behind the user page at va, made present first (and
 * private and writable, for a write): what a driver names to a back end
 * that will read or write the page itself (drivers/blkfront.c). 0 if the
 * access is not allowed (frame 0 is Xen's, never a guest's).
 */
unsigned long uvm_frame(pte_t *l3, unsigned long va, int write)
{
    if (va >= USER_TOP || uvm_fault(l3, va, write) < 0)
        return 0;
    return PTE_MFN(*walk(l3, va, 0));
}
