/*
 * bench_hypercall — the null hypercall round trip: XENVER_version needs no
 * guest memory, so each iteration measures only the trap into the
 * hypervisor, the dispatch, and the return to ring 1.
 */
#include <cmdline.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <xen/version.h>

void start_kernel(start_info_t *si)
{
    unsigned long i, n = cmdline_ulong((const char *)si->cmd_line, "n", 100000);
    int last = 0;

    for (i = 0; i < n; i++)
        last = HYPERVISOR_xen_version(XENVER_version, 0);
    printk("%lu hypercalls, last returned %d.%d\n", n, last >> 16, last & 0xffff);
    shutdown(SHUTDOWN_poweroff);
}
