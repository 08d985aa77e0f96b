/*
 * schedops — the sched_op hypercall from the guest's side.  A PV kernel
 * never spins or halts to wait: it yields the CPU (SCHEDOP_yield) or blocks
 * until an event arrives (SCHEDOP_block), and it ends by asking Xen to shut
 * it down with a reason (SCHEDOP_shutdown).
 *
 * Command line: yields=N (default 3), reason=R (a SHUTDOWN_* number,
 * default 0 = poweroff), block=1 to block instead of shutting down.
 */
#include <cmdline.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

void start_kernel(start_info_t *si)
{
    const char *cmd = (const char *)si->cmd_line;
    unsigned long i, yields = cmdline_ulong(cmd, "yields", 3);
    struct sched_shutdown down = { .reason = (unsigned int)cmdline_ulong(cmd, "reason", SHUTDOWN_poweroff) };

    for (i = 0; i < yields; i++)
        printk("yield %lu -> %d\n", i + 1, HYPERVISOR_sched_op(SCHEDOP_yield, 0));
    if (cmdline_ulong(cmd, "block", 0)) {
        printk("blocking with no event channel bound: nothing can wake me\n");
        HYPERVISOR_sched_op(SCHEDOP_block, 0);
        printk("woke up?!\n");
    }
    printk("shutting down with reason %u\n", down.reason);
    HYPERVISOR_sched_op(SCHEDOP_shutdown, &down);
    printk("shutdown returned: the reason was refused\n");
    shutdown(SHUTDOWN_crash);
}
