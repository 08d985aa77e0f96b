/*
 * domctl — paper §2.3: Xen exports the control interface only to a
 * privileged domain. cmdline "role=":
 *   victim  an ordinary domain: its own domctl calls get -EPERM; then it
 *           counts yields for ever (until it is destroyed);
 *   tool    built privileged: reads the victim's domaininfo, pauses it,
 *           checks that it stopped, unpauses it, lowers its maximum memory
 *           and finally destroys it ("target=<domid>").
 */
#include <cmdline.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <lib.h>
#include <xen/domctl.h>

volatile unsigned long ticks;

static int domctl(uint32_t cmd, unsigned int domid, struct xen_domctl *op)
{
    memset(op, 0, sizeof(*op));
    op->cmd = cmd;
    op->interface_version = XEN_DOMCTL_INTERFACE_VERSION;
    op->domain = (uint16_t)domid;
    return _hypercall1(int, domctl, op);
}

static void yield_n(int n)
{
    while (n--)
        HYPERVISOR_sched_op(SCHEDOP_yield, 0);
}

static void victim(void)
{
    struct xen_domctl op;

    printk("victim: getdomaininfo(0) = %d\n", domctl(XEN_DOMCTL_getdomaininfo, 0, &op));
    printk("victim: pausedomain(0) = %d\n", domctl(XEN_DOMCTL_pausedomain, 0, &op));
    for (;;) {
        ticks++;
        HYPERVISOR_sched_op(SCHEDOP_yield, 0);
    }
}

static void tool(unsigned int target)
{
    struct xen_domctl op;
    uint32_t flags;
    int rc;

    yield_n(5);                                    /* let the victim start */
    rc = domctl(XEN_DOMCTL_getdomaininfo, target, &op);
    printk("tool: getdomaininfo(%u) = %d: %lu pages, max %lu, flags 0x%x\n", target, rc,
           (unsigned long)op.u.getdomaininfo.tot_pages,
           (unsigned long)op.u.getdomaininfo.max_pages, op.u.getdomaininfo.flags);
    printk("tool: pausedomain = %d\n", domctl(XEN_DOMCTL_pausedomain, target, &op));
    domctl(XEN_DOMCTL_getdomaininfo, target, &op);
    flags = op.u.getdomaininfo.flags;
    {
        uint64_t before = op.u.getdomaininfo.cpu_time;
        yield_n(20);
        domctl(XEN_DOMCTL_getdomaininfo, target, &op);
        printk("tool: paused flag %d, ran while paused: %s\n", !!(flags & XEN_DOMINF_paused),
               op.u.getdomaininfo.cpu_time == before ? "no" : "yes");
    }
    printk("tool: unpausedomain = %d\n", domctl(XEN_DOMCTL_unpausedomain, target, &op));
    printk("tool: unpausedomain again = %d\n", domctl(XEN_DOMCTL_unpausedomain, target, &op));
    op.u.max_mem.max_memkb = 1024;                 /* below what it holds: refused */
    op.cmd = XEN_DOMCTL_max_mem;
    printk("tool: max_mem 1 MiB = %d\n", _hypercall1(int, domctl, &op));
    printk("tool: pausedomain(self) = %d\n", domctl(XEN_DOMCTL_pausedomain, DOMID_SELF, &op));
    printk("tool: destroydomain = %d\n", domctl(XEN_DOMCTL_destroydomain, target, &op));
    printk("tool: getdomaininfo after destroy = %d\n",
           domctl(XEN_DOMCTL_getdomaininfo, target, &op));
    shutdown(SHUTDOWN_poweroff);
}

void start_kernel(start_info_t *si)
{
    const char *cmd = (const char *)si->cmd_line;

    if (cmdline_ulong(cmd, "tool", 0))
        tool((unsigned int)cmdline_ulong(cmd, "target", 0));
    victim();
}
