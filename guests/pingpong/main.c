/*
 * pingpong — two domains bounce events over an interdomain event channel
 * (paper §3.1: events are the PV replacement for interrupts).
 *
 * pong offers a port to its peer (alloc_unbound), ping connects to it
 * (bind_interdomain); from then on an EVTCHNOP_send on either end sets the
 * pending bit of the other end, and Xen upcalls the other domain. Each
 * side counts events in its handler and waits for the next one with
 * SCHEDOP_block, the PV kernel's idle loop. See README.md for the
 * command lines.
 */
#include <cmdline.h>
#include <console.h>
#include <events.h>
#include <hypercall.h>
#include <hypervisor.h>

/* Events seen on our port: written by the upcall, read by the main loop. */
static volatile unsigned long received;

static void count_event(evtchn_port_t port, struct pt_regs *regs, void *data)
{
    (*(volatile unsigned long *)data)++;
}

/* Is "key=value" on the command line? */
static int cmdline_has(const char *cmd, const char *option)
{
    const char *p, *a, *b;

    for (p = cmd; *p; p++) {
        if (p != cmd && p[-1] != ' ')
            continue;
        for (a = p, b = option; *b && *a == *b; a++, b++)
            ;
        if (!*b && (*a == ' ' || !*a))
            return 1;
    }
    return 0;
}

static void fail(const char *what, int rc) __attribute__((noreturn));
static void fail(const char *what, int rc)
{
    printk("%s failed: %d\n", what, rc);
    shutdown(SHUTDOWN_crash);
}

/*
 * Sleep until the handler has counted more than `seen` events.
 *
 * The check and the sleep must not be separated by an unmasked moment:
 * were the event to arrive in between, its handler would run, the counter
 * would move, and SCHEDOP_block would then sleep waiting for an event that
 * has already come and gone (the lost wakeup). So check with events masked,
 * and let SCHEDOP_block unmask them atomically: it returns at once if an
 * event is pending, and either way Xen delivers the upcall as the
 * hypercall returns, before the loop checks again.
 */
static void wait_for_event(unsigned long seen)
{
    for (;;) {
        local_irq_disable();
        if (received != seen)
            break;
        HYPERVISOR_sched_op(SCHEDOP_block, 0);
    }
    local_irq_enable();
}

static void pong(domid_t peer, unsigned long count)
{
    evtchn_port_t port;
    unsigned long n;
    int rc = evtchn_alloc_unbound(peer, &port);

    if (rc)
        fail("evtchn_alloc_unbound", rc);
    bind_evtchn(port, count_event, (void *)&received);
    printk("pong: port %u, waiting\n", port);
    for (n = 0; n < count; n++) {
        wait_for_event(n);
        if ((rc = notify_remote_via_evtchn(port)))
            fail("notify_remote_via_evtchn", rc);
    }
    printk("pong: %lu events received\n", received);
}

static void ping(domid_t peer, evtchn_port_t remote_port, unsigned long count)
{
    evtchn_port_t port;
    unsigned long n;
    int rc = evtchn_bind_interdomain(peer, remote_port, &port);

    if (rc)
        fail("evtchn_bind_interdomain", rc);
    /*
     * Xen cannot know whether pong sent anything to its port before we
     * bound it (such sends go nowhere), so it conservatively raises our new
     * port once. Here pong only ever answers, so that event is not a reply:
     * drop it while the port is still masked, or the count would run one
     * ahead of pong and the last round trip would never happen.
     */
    clear_evtchn(port);
    bind_evtchn(port, count_event, (void *)&received);
    printk("ping: bound local port %u\n", port);
    for (n = 0; n < count; n++) {
        if ((rc = notify_remote_via_evtchn(port)))
            fail("notify_remote_via_evtchn", rc);
        wait_for_event(n);
    }
    printk("ping: %lu round trips\n", received);
}

void start_kernel(start_info_t *si)
{
    const char *cmd = (const char *)si->cmd_line;
    unsigned long count = cmdline_ulong(cmd, "count", 10);
    domid_t peer = (domid_t)cmdline_ulong(cmd, "peer", 0);
    int rc;

    if ((rc = map_shared_info(si)))
        fail("map_shared_info", rc);
    if ((rc = init_events()))
        fail("init_events", rc);

    if (cmdline_has(cmd, "role=pong"))
        pong(peer, count);
    else if (cmdline_has(cmd, "role=ping"))
        ping(peer, (evtchn_port_t)cmdline_ulong(cmd, "port", 2), count);
    else {
        printk("pingpong: give role=pong peer=D or role=ping peer=D port=P\n");
        shutdown(SHUTDOWN_crash);
    }
    shutdown(SHUTDOWN_poweroff);
}
