/*
 * kalloc.c — the page-frame allocator: a list of free pages, each reached
 * through the direct map, with a reference count per page.
 *
 * Frames are named here by their kernel (direct-map) address, so the rest
 * of the kernel never sees a pfn; arch.h turns an address into the machine
 * frame that Xen and the page tables want. A free page is always mapped
 * writable in the direct map (kmap_init frees pages only after mapping
 * them; vm.c makes a page-table frame writable again before freeing it), so
 * the list can live inside the free pages themselves, as in xv6.
 *
 * The count is the number of users of a page: 1 from kalloc(), +1 for every
 * further address space that maps it (copy-on-write sharing, kref()).
 */
#include <lib.h>
#include "defs.h"

struct run {
    struct run *next;
};

static struct run *freelist;
static unsigned int nfree;
static uint8_t refcount[MAX_PAGES];     /* by pfn; NPROC < 255 sharers */

/* Hand the pages [start, end) to the allocator (start of day). */
void kfree_range(void *start, void *end)
{
    char *p;

    for (p = start; p < (char *)end; p += PGSIZE) {
        struct run *r = (struct run *)p;

        r->next = freelist;
        freelist = r;
        nfree++;
    }
}

/* A zeroed page with one reference, or 0 if none is left. */
void *kalloc(void)
{
    struct run *r = freelist;

    if (!r)
        return 0;
    freelist = r->next;
    nfree--;
    refcount[virt_to_pfn(r)] = 1;
    memset(r, 0, PGSIZE);
    return r;
}

/* Drop one reference; the last one returns the page to the free list. */
void kfree(void *page)
{
    unsigned long pfn = virt_to_pfn(page);
    struct run *r = page;

    if ((unsigned long)page & (PGSIZE - 1) || refcount[pfn] == 0)
        panic("kfree: 0x%08lx is not an allocated page", (unsigned long)page);
    if (--refcount[pfn])
        return;
    r->next = freelist;
    freelist = r;
    nfree++;
}

/* Another user of an allocated page. */
void kref(void *page)
{
    unsigned long pfn = virt_to_pfn(page);

    if (refcount[pfn] == 0 || refcount[pfn] == 255)
        panic("kref: bad count %u for 0x%08lx", refcount[pfn], (unsigned long)page);
    refcount[pfn]++;
}

int krefcount(const void *page)
{
    return refcount[virt_to_pfn(page)];
}

unsigned int kfree_count(void)
{
    return nfree;
}
