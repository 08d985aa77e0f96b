/*
 * failsafe — when Xen cannot write a bounce frame (the kernel's stack
 * pointer is garbage), it gives the guest one last chance: the failsafe
 * callback, entered on the stack named by stack_switch.  If that fails too,
 * the domain is crashed.
 */
#include <console.h>
#include <hypercall.h>
#include <hypervisor.h>

static unsigned long kernel_stack[1024];
void failsafe_entry(void);
void ud_entry(void);

asm(".text\n"
    "failsafe_entry:\n"
    "    call failsafe_report\n"
    "ud_entry:\n"
    "    jmp .\n");

void failsafe_report(void)
{
    printk("failsafe callback: the #UD frame could not be written; shutting down\n");
    shutdown(SHUTDOWN_poweroff);
}

void start_kernel(start_info_t *si)
{
    static struct trap_info traps[] = {
        { 6, 0, FLAT_RING1_CS, (unsigned long)ud_entry },
        { 0, 0, 0, 0 },
    };

    (void)si;
    HYPERVISOR_set_trap_table(traps);
    HYPERVISOR_stack_switch(FLAT_RING1_SS, (unsigned long)&kernel_stack[1024]);
    HYPERVISOR_set_callbacks(FLAT_RING1_CS, 0, FLAT_RING1_CS, (unsigned long)failsafe_entry);
    printk("failsafe: #UD with ESP in unmapped memory\n");
    asm volatile("movl $0x00400000, %esp\n\tud2");
}
