/*
 * bystander — a domain minding its own business beside a hostile guest.
 *
 * It fills a buffer, then `rounds` times (command line, default 40) yields the CPU and
 * recomputes a checksum over the buffer, its boot page tables (read-only, in the 1:1
 * region) and the M2P entries of every frame it owns.  Anything another domain managed to
 * change in its world shows up as a different checksum.
 */
#include <cmdline.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

#define M2P ((const volatile unsigned long *)MACH2PHYS_VIRT_START)

static unsigned long buffer[4096];

static unsigned long mix(unsigned long h, unsigned long w) { return (h ^ w) * 16777619UL; }

static unsigned long world(const start_info_t *si)
{
    const unsigned long *mfns = (const unsigned long *)si->mfn_list;
    const volatile unsigned long *pt = (const volatile unsigned long *)si->pt_base;
    unsigned long h = 2166136261UL, i;

    for (i = 0; i < sizeof(buffer) / 4; i++)
        h = mix(h, buffer[i]);
    for (i = 0; i < si->nr_pt_frames * 1024; i++)
        h = mix(h, pt[i]);
    for (i = 0; i < si->nr_pages; i++)
        h = mix(h, M2P[mfns[i]] == i);
    return h;
}

void start_kernel(start_info_t *si)
{
    unsigned long rounds = cmdline_ulong((const char *)si->cmd_line, "rounds", 40);
    unsigned long before, now, i;

    for (i = 0; i < sizeof(buffer) / 4; i++)
        buffer[i] = i * 2654435761UL;
    now = before = world(si);
    printk("bystander: checksum 0x%08lx\n", before);
    for (i = 0; i < rounds; i++) {
        HYPERVISOR_sched_op(SCHEDOP_yield, 0);
        now = world(si);
        if (now != before) {
            printk("bystander: CHANGED in round %lu: 0x%08lx\n", i, now);
            shutdown(SHUTDOWN_crash);
        }
    }
    printk("bystander: checksum 0x%08lx after %lu rounds\n", now, rounds);
    printk("bystander: unchanged\n");
    shutdown(SHUTDOWN_poweroff);
}
