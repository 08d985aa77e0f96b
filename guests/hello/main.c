/*
 * hello — the smallest useful paravirtualized kernel: it reads what the
 * domain builder left in start_info, asks Xen who it is, and powers off.
 * Every line of output is a hypercall (console_io); nothing here touches
 * hardware, because in ring 1 there is none to touch.
 */
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <xen/version.h>

void start_kernel(start_info_t *si)
{
    xen_extraversion_t extra;
    int version;

    printk("Hello from xenlab! This domain runs in ring 1 on a Xen-style hypervisor.\n");

    /* magic and cmd_line are fixed-size fields: bound the reads. */
    printk("start_info: magic=%.32s nr_pages=%lu cmdline='%.1024s'\n",
           si->magic, si->nr_pages, (const char *)si->cmd_line);

    version = HYPERVISOR_xen_version(XENVER_version, 0);
    printk("Xen version: %d.%d\n", version >> 16, version & 0xffff);

    extra[0] = '\0';
    HYPERVISOR_xen_version(XENVER_extraversion, extra);
    printk("Xen extraversion: '%.16s'\n", extra);

    shutdown(SHUTDOWN_poweroff);
}
