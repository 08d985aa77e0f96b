/*
 * proc.h — a process: an address space (its own pinned L3), a kernel stack
 * with the trap frame of its last entry from ring 3 at the top, and the
 * saved registers (context) of its last switch away in the kernel.
 */
#ifndef XENOLITE_PROC_H
#define XENOLITE_PROC_H

#include "arch.h"

/*
 * Callee-saved registers of a kernel thread that called swtch(); its
 * stack pointer is the address of this structure. eip is where swtch
 * returns to.
 */
struct context {
    uint32_t edi, esi, ebx, ebp, eip;
};

enum procstate { UNUSED, RUNNABLE, RUNNING, SLEEPING, ZOMBIE };

struct proc {
    enum procstate state;
    int pid;
    struct proc *parent;
    pte_t *l3;                  /* page tables: direct-map address of the pinned L3 */
    char *kstack;               /* bottom of the one-page kernel stack */
    struct trapframe *tf;       /* at the top of kstack */
    struct context *context;    /* where swtch() left this process */
    void *chan;                 /* what it sleeps on, when SLEEPING */
    int xstate;                 /* exit status, for the parent's wait() */
};

extern struct proc *curproc;    /* the process running now; 0 in the scheduler */

#endif /* XENOLITE_PROC_H */
