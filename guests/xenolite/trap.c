/*
 * trap.c — what to do with a trap Xen bounced to us (arch/xen/entry.S
 * saved the registers into a struct trapframe and called trap()).
 *
 * From ring 3: a system call, a page fault that vm.c can resolve (demand
 * zero, copy on write), or a fault that kills the process. From ring 1:
 * a fault in the kernel itself, which is a bug, so panic — the kernel never
 * touches user memory except through copyin/copyout, which resolve pages
 * without faulting.
 */
#include <console.h>
#include "defs.h"
#include "proc.h"

#define T_DIVIDE  0
#define T_ILLOP   6
#define T_GPFLT   13
#define T_PGFLT   14
#define T_SYSCALL 0x80
#define T_EVENT   0x100     /* an event upcall (entry.S's event_callback) */

unsigned int nr_page_faults;
unsigned int nr_event_upcalls;

static const char *trap_name(uint32_t trapno)
{
    return trapno == T_DIVIDE ? "divide error"
         : trapno == T_ILLOP ? "invalid opcode"
         : trapno == T_GPFLT ? "general protection fault"
         : trapno == T_PGFLT ? "page fault" : "trap";
}

void trap(struct trapframe *tf)
{
    /* First, before anything else can fault and overwrite it. */
    unsigned long cr2 = tf->trapno == T_PGFLT ? arch_fault_address() : 0;

    /*
     * The data segments to return to ring 3 with. Xen would have left the
     * user's own in %ds/%es, but xenlab enters ring 1 with its ring-1
     * selectors, so the saved ones are not the user's. Fixed here, first,
     * so that fork() copies a frame that is right.
     */
    if (from_user(tf))
        tf->ds = tf->es = FLAT_RING3_DS;

    if (tf->trapno == T_EVENT) {
        /* From ring 3 or from the few unmasked kernel instructions (trapret, the idle loop). */
        nr_event_upcalls++;
        arch_handle_events();
    } else if (tf->trapno == T_SYSCALL) {
        syscall(tf);
    } else if (tf->trapno == T_PGFLT && from_user(tf)) {
        nr_page_faults++;
        /* Paper §3.3.3: the fault may be an update still in our queue. */
        flush_page_update_queue();
        if (uvm_fault(curproc->l3, cr2, tf->err & FEC_WR) < 0) {
            printk("pid %d: page fault at 0x%08lx (error %u, eip 0x%08x): killed\n",
                   curproc->pid, cr2, tf->err, tf->eip);
            exit(-1);
        }
    } else if (from_user(tf)) {
        printk("pid %d: %s (error 0x%x) at eip 0x%08x: killed\n",
               curproc->pid, trap_name(tf->trapno), tf->err, tf->eip);
        exit(-1);
    } else {
        panic("%s in the kernel at eip 0x%08x, error 0x%x, cr2 0x%08lx",
              trap_name(tf->trapno), tf->eip, tf->err, cr2);
    }

    if (from_user(tf)) {
        /*
         * Preemption: the tick asked for another process. Events that came
         * while the kernel ran masked are handled first (they would
         * otherwise wait for the next hypercall), so a tick that fell in a
         * system call is not lost.
         */
        for (;;) {
            if (arch_events_pending())
                arch_handle_events();
            if (!need_resched)
                break;
            need_resched = 0;
            nr_preemptions++;
            yield();
        }
        /* Nothing may stay queued: ring 3 must see every mapping the kernel made for it. */
        flush_page_update_queue();
    }
}
