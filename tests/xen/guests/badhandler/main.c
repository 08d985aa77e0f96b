/*
 * badhandler — a handler Xen can bounce to but the CPU cannot run: its first
 * instruction faults at once.  Delivering that fault again would loop for
 * ever, so Xen crashes the domain with the reason.
 */
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

void start_kernel(start_info_t *si)
{
    static struct trap_info traps[] = {
        { 6, 0, FLAT_RING1_CS, 0x00600000UL },   /* #UD: nothing is mapped there */
        { 14, 0, FLAT_RING1_CS, 0x00600000UL },  /* #PF: nor for this one */
        { 0, 0, 0, 0 },
    };

    (void)si;
    HYPERVISOR_set_trap_table(traps);
    printk("badhandler: raising #UD\n");
    asm volatile("ud2");
    printk("badhandler: still alive?!\n");
    shutdown(SHUTDOWN_poweroff);
}
