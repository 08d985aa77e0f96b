/*
 * xshello — what a Xen 3 guest does at boot on a host with a domain 0:
 * connect its console ring (printk then goes to xenconsoled instead of
 * console_io), connect to xenstore through the store ring, and read who it
 * is there — its domid and name, which the toolstack wrote into its home
 * /local/domain/<id> before it started. Then it leaves a note in its home,
 * watches it, and shows the store refusing another domain's home.
 * With "echo=1" it then echoes what is typed into its console (xl console,
 * or the notebook's console widget) until it reads "quit".
 */
#include <cmdline.h>
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <lib.h>
#include <xenbus.h>

/* Sleep until the console port fires (SCHEDOP_poll), then clear it. */
static void wait_console(evtchn_port_t port)
{
    struct sched_poll poll = { .ports = &port, .nr_ports = 1, .timeout = 0 };

    HYPERVISOR_sched_op(SCHEDOP_poll, &poll);
    __atomic_and_fetch(&HYPERVISOR_shared_info->evtchn_pending[port / 32],
                       ~(1UL << (port % 32)), __ATOMIC_SEQ_CST);
}

static void echo_console(const start_info_t *si)
{
    char line[128], c;
    int len = 0;

    printk("xshello: type a line (\"quit\" ends)\n");
    for (;;) {
        if (xencons_ring_read(&c, 1) != 1) {
            wait_console(si->console.domU.evtchn);
            continue;
        }
        if (c != '\n' && c != '\r' && len < (int)sizeof(line) - 1) {
            line[len++] = c;
            continue;
        }
        line[len] = '\0';
        if (!strcmp(line, "quit"))
            return;
        printk("xshello: you typed '%s'\n", line);
        len = 0;
    }
}

void start_kernel(start_info_t *si)
{
    char name[64], path[128], token[32], value[64];
    unsigned long domid = 0;
    int rc;

    map_shared_info(si);
    if (xencons_ring_init(si) == 0)
        printk("xshello: console ring connected (port %u)\n", si->console.domU.evtchn);
    else
        printk("xshello: no console back end; using console_io\n");
    if (xenbus_init(si) != 0) {
        printk("xshello: no xenstore on this host\n");
        shutdown(SHUTDOWN_poweroff);
    }
    rc = xenbus_read_ulong("domid", &domid);
    printk("xshello: xenstore 'domid' -> %lu (rc %d)\n", domid, rc);
    rc = xenbus_read("name", name, sizeof(name));
    printk("xshello: xenstore 'name' -> '%s' (rc %d)\n", rc < 0 ? "" : name, rc);

    rc = xenbus_watch("data", "note");
    xenbus_wait_watch(path, sizeof(path), token, sizeof(token));  /* the first, at once */
    printk("xshello: watching %s (token %s): rc %d\n", path, token, rc);
    rc = xenbus_write("data/note", "written by the guest");
    xenbus_wait_watch(path, sizeof(path), token, sizeof(token));
    printk("xshello: watch fired for %s (token %s) after a write: rc %d\n", path, token, rc);
    rc = xenbus_read("data/note", value, sizeof(value));
    printk("xshello: read back '%s'\n", rc < 0 ? "" : value);

    rc = xenbus_read("/local/domain/0/name", value, sizeof(value));
    printk("xshello: reading domain 0's name: rc %d\n", rc);
    rc = xenbus_write("/local/domain/0/name", "pwned");
    printk("xshello: renaming domain 0: rc %d\n", rc);
    rc = xenbus_write("name", "renamed");
    printk("xshello: renaming myself: rc %d\n", rc);
    if (cmdline_ulong((const char *)si->cmd_line, "echo", 0) && xencons_ring_ready())
        echo_console(si);
    shutdown(SHUTDOWN_poweroff);
}
