/*
 * bench_mmu — the cost of Xen's page-table validation, per PTE: `rounds`
 * calls of mmu_update, each a batch of `batch` requests (default 2048, as
 * XenoLinux batched) that map and unmap 256 spare pages in the first L1.
 */
#include <cmdline.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

#define VIRT_BASE 0xC0000000UL
#define FIRST_VA  0xC0100000UL            /* entries 256..511 of the first L1: free */
#define M2P       ((const unsigned long *)MACH2PHYS_VIRT_START)

static struct mmu_update req[2048];

void start_kernel(start_info_t *si)
{
    const char *cmd = (const char *)si->cmd_line;
    unsigned long rounds = cmdline_ulong(cmd, "rounds", 10), batch = cmdline_ulong(cmd, "batch", 2048);
    const unsigned long *p2m = (const unsigned long *)si->mfn_list;
    uint64_t *l3 = (uint64_t *)si->pt_base, *l2;
    uint64_t l1_ma;
    unsigned long r, i, done = 0;
    int rc = 0;

    if (batch > 2048)
        batch = 2048;
    /* The first L1's machine address, from the boot tables (read-only to us). */
    l2 = (uint64_t *)(VIRT_BASE + (M2P[(unsigned long)(l3[3] >> 12) & 0xFFFFF] << 12));
    l1_ma = l2[0] & 0xFFFFFF000ULL;
    for (i = 0; i < batch; i++) {
        unsigned long slot = 256 + (i % 256);
        req[i].ptr = l1_ma + 8 * slot;                         /* MMU_NORMAL_PT_UPDATE */
        req[i].val = (i / 256) % 2 ? 0                         /* unmap ... */
                   : ((uint64_t)p2m[si->nr_pages - 1 - (i % 256)] << 12) | 7;  /* ... map RW */
    }
    for (r = 0; r < rounds && rc == 0; r++)
        rc = HYPERVISOR_mmu_update(req, (int)batch, (int *)&done, DOMID_SELF);
    printk("%lu batches of %lu PTE updates: rc=%d\n", r, batch, rc);
    shutdown(SHUTDOWN_poweroff);
}
