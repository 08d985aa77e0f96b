/*
 * main.c — xenolite starts here: a small Unix-like kernel that runs as a
 * Xen PV guest in ring 1, with user processes in ring 3.
 *
 * The order of the start of day: Xen's hooks (trap table, shared_info),
 * the kernel's map of all memory and the page allocator, the first user
 * process, then the scheduler, which never returns. The user side (init and
 * its workers) is in user_*.c.
 */
#include <cmdline.h>
#include <console.h>
#include <hypervisor.h>
#include "defs.h"
#include "drivers/blkfront.h"
#include "drivers/netfront.h"

const char *boot_cmdline;

void start_kernel(start_info_t *si)
{
    const char *cmdline = boot_cmdline = (const char *)si->cmd_line;
    unsigned long nworkers, spin, tick_us;

    /* On a host with domain 0, printk goes through the console ring from here on (a bare
     * Xen leaves the console port unbound, and printk stays on console_io). */
    xencons_ring_init(si);
    printk("xenolite: booting in ring 1 on Xen, %lu pages, cmdline '%.64s'\n",
           si->nr_pages, (const char *)si->cmd_line);
    arch_setup(si);
    kmap_init(si);
    nworkers = cmdline_ulong((const char *)si->cmd_line, "workers", DEFAULT_WORKERS);
    if (nworkers > MAXWORKERS)
        nworkers = MAXWORKERS;
    set_update_batch(cmdline_ulong((const char *)si->cmd_line, "batch", 2048));
    /* "spin=1": the preemption demo (user_spin.c), which needs the tick: 1 ms unless "tick=US". */
    spin = cmdline_ulong(cmdline, "spin", 0);
    tick_us = cmdline_ulong(cmdline, "tick", spin ? 1000 : 0);
    if (tick_us)
        clock_init(tick_us);
    blkfront_init(si);                  /* the virtual disk, if domain 0 gave us one */
    netfront_init(si);                  /* the network interface, likewise */
    userinit((int)nworkers, cmdline_ulong(cmdline, "probes", 0) != 0,
             (int)cmdline_ulong(cmdline, "prefault", 0), spin != 0);
    scheduler();
}

void panic(const char *fmt, ...)
{
    va_list ap;

    printk("panic: ");
    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
    printk("\n");
    shutdown(SHUTDOWN_crash);
}
