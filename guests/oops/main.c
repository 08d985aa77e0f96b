/*
 * oops — what happens to a guest that faults with nowhere to go.  It never
 * calls set_trap_table, so when it writes through a NULL pointer Xen has no
 * handler to bounce the page fault to: the domain is crashed, and Xen keeps
 * its registers and the faulting instruction for the post-mortem.  The
 * hypervisor, and every other domain, carry on.
 */
#include <console.h>
#include <hypervisor.h>

void start_kernel(start_info_t *si)
{
    volatile unsigned long *null = 0;

    (void)si;
    printk("oops: about to write through a NULL pointer with no trap table\n");
    *null = 0xdead;
    printk("oops: still alive?!\n"); /* never printed */
    shutdown(SHUTDOWN_poweroff);
}
