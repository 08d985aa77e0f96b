/*
 * arch/xen/mmu.c — page-table updates under Xen (paper §3.3.3).
 *
 * A PV kernel reads its page tables directly but may not write them: every
 * frame in use as a page table is mapped read-only, and a write is a
 * request (struct mmu_update: the entry's machine address and its new
 * value) that Xen validates — the new entry may map only our own frames,
 * may map a frame writable only if it is not a page table, and must point
 * an L2 at something that validates as an L1, and so on.
 *
 * One hypercall per entry would be slow, so, as XenoLinux did, set_pte()
 * only queues the request (up to 2048) and flush_page_update_queue() hands
 * the whole queue to Xen in one mmu_update. The queue must be flushed
 * before anything that depends on the writes: before a TLB flush, before
 * pinning or switching to a table (both done here, so callers cannot forget),
 * when the kernel reads back an entry it queued, and on a page fault, which
 * may be the CPU running into a write still sitting in the queue.
 */
#include <hypercall.h>
#include "defs.h"

#define QUEUE_SIZE 2048                 /* XenoLinux's batch limit */

static mmu_update_t update_queue[QUEUE_SIZE];
static unsigned int queue_len;
static unsigned int queue_limit = QUEUE_SIZE;   /* "batch=N" on the command line */
static pte_t *current_l3;               /* what NEW_BASEPTR last loaded; 0 = the builder's */

struct mmu_stats mmu_stats;

/* How many writes to queue before handing them to Xen (1 = no batching). */
void set_update_batch(unsigned long n)
{
    queue_limit = n < 1 ? 1 : n > QUEUE_SIZE ? QUEUE_SIZE : (unsigned int)n;
}

/* Queue "set the entry at ptep (a direct-map address) to val". */
void set_pte(pte_t *ptep, pte_t val)
{
    if (queue_len >= queue_limit)
        flush_page_update_queue();
    update_queue[queue_len].ptr = virt_to_machine(ptep) | MMU_NORMAL_PT_UPDATE;
    update_queue[queue_len].val = val;
    queue_len++;
}

/*
 * Hand every queued write to Xen in one hypercall. Xen applies them in
 * order and stops at the first it refuses; a refusal is a kernel bug
 * (xenolite only asks for what the rules allow), so it panics.
 */
void flush_page_update_queue(void)
{
    int done = 0, rc;

    if (queue_len == 0)
        return;
    rc = HYPERVISOR_mmu_update(update_queue, (int)queue_len, &done, DOMID_SELF);
    if (rc < 0)
        panic("mmu_update refused request %d of %u (ptr 0x%llx val 0x%llx): error %d",
              done + 1, queue_len, (unsigned long long)update_queue[done].ptr,
              (unsigned long long)update_queue[done].val, rc);
    mmu_stats.batches++;
    mmu_stats.updates += queue_len;
    if (queue_len > mmu_stats.largest)
        mmu_stats.largest = queue_len;
    queue_len = 0;
}

/* The direct-map entry that maps a kernel address (in one of kmap_init's L1s). */
static pte_t *direct_map_pte(const void *va)
{
    pte_t *l1 = pte_page(kernel_l2[L2X(va)]);

    return &l1[L1X(va)];
}

/*
 * A frame Xen is to use as a page table must not be mapped writable
 * anywhere (else the guest could change a validated table behind Xen's
 * back), so before it becomes one its direct-map entry is made read-only,
 * and when it stops being one, writable again. Queued, like any PTE write:
 * Xen sees the flip before the request that uses the frame as a table.
 */
void make_page_readonly(void *page)
{
    set_pte(direct_map_pte(page), mk_pte(page, KERNEL_PTE & ~PTE_W));
}

void make_page_writable(void *page)
{
    set_pte(direct_map_pte(page), mk_pte(page, KERNEL_PTE));
}

/* One extended MMU command, after the queue (Xen must see the tables as we do). */
static void mmuext(unsigned int cmd, unsigned long arg)
{
    struct mmuext_op op = { .cmd = cmd, .arg1.mfn = arg };
    int rc;

    flush_page_update_queue();
    rc = HYPERVISOR_mmuext_op(&op, 1, NULL, DOMID_SELF);
    if (rc < 0)
        panic("mmuext_op %u (0x%lx) refused: error %d", cmd, arg, rc);
}

/*
 * Pinning validates a whole tree once and keeps it validated until unpin,
 * so switching to it costs Xen nothing (paper §3.3.3: without the pin, the
 * tree would be revalidated every time it became the base pointer again).
 */
void pin_l3_table(pte_t *l3)
{
    mmuext(MMUEXT_PIN_L3_TABLE, virt_to_mfn(l3));
}

void unpin_table(pte_t *table)
{
    mmuext(MMUEXT_UNPIN_TABLE, virt_to_mfn(table));
}

/* The guest's "mov %eax, %cr3": ask Xen to load a new base pointer. */
void switch_page_tables(pte_t *l3)
{
    if (l3 == current_page_tables())
        return;
    mmuext(MMUEXT_NEW_BASEPTR, virt_to_mfn(l3));
    current_l3 = l3;
}

pte_t *current_page_tables(void)
{
    return current_l3 ? current_l3 : boot_l3;
}

void flush_tlb(void)
{
    mmuext(MMUEXT_TLB_FLUSH_LOCAL, 0);
}

void flush_tlb_page(unsigned long va)
{
    mmuext(MMUEXT_INVLPG_LOCAL, va);
}
