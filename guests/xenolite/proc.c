/*
 * proc.c — processes and the scheduler.
 *
 * A process runs until it enters the kernel and gives up the CPU there
 * (yield, wait, sleep, exit) or, with the clock tick on ("tick=US" on the
 * command line; VIRQ_TIMER, arch/xen/timer.c), until a tick finds it
 * running: the tick sets need_resched and trap() yields on the process's
 * way back to ring 3, so even a loop with no system call is preempted.
 * Each process switches to the scheduler's own
 * context and the scheduler picks the next runnable one, round robin, as
 * in xv6. A switch of process is, for Xen, two hypercalls: stack_switch
 * (the ring-1 stack for the next trap from ring 3: the TSS's esp1) and
 * NEW_BASEPTR (its address space: the guest's "mov to %cr3").
 */
#include <console.h>
#include <lib.h>
#include "defs.h"
#include "proc.h"

static struct proc ptable[NPROC];
static struct context *scheduler_context;
static struct proc *initproc;
static int nextpid = 1;

struct proc *curproc;
int need_resched;
unsigned int nr_ticks, nr_preemptions;
static int ticking;                     /* the clock tick is on */
static char tickchan;                   /* what timed sleepers sleep on */

/* The user programs (user_*.c), linked into the kernel image by guest.ld. */
extern char __user_start[], __user_end[];
void init_main(int nworkers, int probes, int prefault_kib, int spin);

/*
 * A process slot with a kernel stack laid out for its first switch:
 * swtch() pops the context and "returns" to trapret, which pops the
 * trap frame above it and irets to ring 3.
 *
 *   kstack + KSTACKSIZE -> ┌───────────────┐
 *                          │ trapframe     │  p->tf
 *                          ├───────────────┤
 *                          │ context       │  p->context (eip = trapret)
 *                          └───────────────┘
 */
static struct proc *allocproc(void)
{
    struct proc *p;
    char *sp;

    for (p = ptable; p < &ptable[NPROC]; p++)
        if (p->state == UNUSED)
            break;
    if (p == &ptable[NPROC] || !(p->kstack = kalloc()))
        return 0;
    p->pid = nextpid++;
    sp = p->kstack + KSTACKSIZE;
    sp -= sizeof(*p->tf);
    p->tf = (struct trapframe *)sp;
    sp -= sizeof(*p->context);
    p->context = (struct context *)sp;
    memset(p->context, 0, sizeof(*p->context));
    p->context->eip = (uint32_t)trapret;
    return p;
}

/* The first process: the user programs copied to USER_TEXT, running init_main(). */
void userinit(int nworkers, int probes, int prefault_kib, int spin)
{
    struct proc *p = allocproc();
    unsigned long text_len = (unsigned long)(__user_end - __user_start);
    /* return address, then the arguments */
    uint32_t args[5] = { 0, (uint32_t)nworkers, (uint32_t)probes, (uint32_t)prefault_kib,
                         (uint32_t)spin };

    if (!p || !(p->l3 = uvm_create()) || uvm_load(p->l3, USER_TEXT, __user_start, text_len) < 0)
        panic("userinit: out of memory");
    memset(p->tf, 0, sizeof(*p->tf));
    p->tf->cs = FLAT_RING3_CS;
    p->tf->ds = p->tf->es = p->tf->ss = FLAT_RING3_DS;
    p->tf->eflags = 0x202;              /* IF, and the always-1 bit */
    p->tf->eip = USER_TEXT + ((unsigned long)init_main - (unsigned long)__user_start);
    p->tf->esp = USER_STACK_TOP - sizeof(args);
    /* Its arguments on its stack, as exec would push argc (a demand-zero page). */
    if (copyout(p->l3, p->tf->esp, args, sizeof(args)) < 0)
        panic("userinit: cannot set up the stack");
    initproc = p;
    p->state = RUNNABLE;
    printk("proc: init is pid %d, user code at 0x%08lx-0x%08lx, stack below 0x%08lx\n",
           p->pid, USER_TEXT, USER_TEXT + text_len - 1, USER_STACK_TOP);
}

/* Is some process waiting for time to pass (sleep_ms)? Only a tick can wake it. */
static int timed_sleepers(void)
{
    struct proc *p;

    for (p = ptable; p < &ptable[NPROC]; p++)
        if (p->state == SLEEPING && p->chan == &tickchan)
            return 1;
    return 0;
}

/*
 * Run processes forever, round robin over the table. A process returns here
 * (through sched) when it gives up the CPU or is preempted. When nothing
 * can run but a process sleeps for a time, the domain blocks until the next
 * tick (SCHEDOP_block: Xen lets system time jump ahead); when nothing can
 * run and nothing waits for time, it is a deadlock.
 */
void scheduler(void)
{
    struct proc *p;
    int ran;

    for (;;) {
        ran = 0;
        for (p = ptable; p < &ptable[NPROC]; p++) {
            if (p->state != RUNNABLE)
                continue;
            ran = 1;
            curproc = p;
            arch_set_kernel_stack(p->kstack + KSTACKSIZE);
            switch_page_tables(p->l3);
            p->state = RUNNING;
            swtch(&scheduler_context, p->context);
            curproc = 0;
        }
        if (!ran) {
            if (!ticking || !timed_sleepers())
                panic("scheduler: no process can run");
            arch_idle();                /* the tick's upcall runs in here, then masked again */
        }
    }
}

/* Give the CPU back to the scheduler; the caller has set curproc->state. */
static void sched(void)
{
    swtch(&curproc->context, scheduler_context);
}

void yield(void)
{
    curproc->state = RUNNABLE;
    sched();
}

/*
 * The kernel runs with events masked, so no tick can come between a
 * check and the sleep: no locks.
 */
void sleep(void *chan)
{
    curproc->chan = chan;
    curproc->state = SLEEPING;
    sched();
    curproc->chan = 0;
}

void wakeup(void *chan)
{
    struct proc *p;

    for (p = ptable; p < &ptable[NPROC]; p++)
        if (p->state == SLEEPING && p->chan == chan)
            p->state = RUNNABLE;
}

/* The clock tick (VIRQ_TIMER, with events masked): wake timed sleepers, preempt. */
static void tick(void)
{
    nr_ticks++;
    wakeup(&tickchan);
    if (curproc)
        need_resched = 1;
}

/* Start the periodic tick: every tick_us microseconds of system time. */
void clock_init(unsigned long tick_us)
{
    ticking = 1;
    arch_timer_init(tick_us, tick);
}

/* Sleep until ms milliseconds of system time have passed; 0, or -1 without a tick. */
int sleep_ms(unsigned int ms)
{
    uint64_t until = arch_system_time() + (uint64_t)ms * 1000000;

    if (!ticking)
        return -1;
    while (arch_system_time() < until)
        sleep(&tickchan);
    return 0;
}

/* A copy of the current process sharing its pages copy-on-write; returns the child's pid. */
int fork(void)
{
    struct proc *np = allocproc();

    if (!np)
        return -1;
    np->l3 = uvm_copy(curproc->l3);
    *np->tf = *curproc->tf;
    np->tf->eax = 0;                    /* fork() returns 0 in the child */
    np->parent = curproc;
    np->state = RUNNABLE;
    return np->pid;
}

/*
 * End the current process. Its address space goes at once: leave it for
 * the kernel-only one (Xen will not let go of a table in use), unpin and
 * free it. The kernel stack we are running on stays until the parent's
 * wait() collects the exit status.
 */
void exit(int status)
{
    struct proc *p;

    if (curproc == initproc)
        panic("init exited (status %d)", status);
    switch_page_tables(boot_l3);
    uvm_free(curproc->l3);
    curproc->l3 = 0;
    curproc->xstate = status;
    for (p = ptable; p < &ptable[NPROC]; p++)
        if (p->parent == curproc)
            p->parent = initproc;       /* orphans are init's */
    wakeup(initproc);
    wakeup(curproc->parent);
    curproc->state = ZOMBIE;
    sched();
    panic("exit: a zombie ran");
}

/* Wait for a child to exit; store its status at status_va (if not 0); return its pid. */
int wait(unsigned long status_va)
{
    struct proc *p;
    int havekids, pid;

    for (;;) {
        havekids = 0;
        for (p = ptable; p < &ptable[NPROC]; p++) {
            if (p->parent != curproc)
                continue;
            havekids = 1;
            if (p->state != ZOMBIE)
                continue;
            pid = p->pid;
            if (status_va && copyout(curproc->l3, status_va, &p->xstate, sizeof(p->xstate)) < 0)
                return -1;
            kfree(p->kstack);
            memset(p, 0, sizeof(*p));
            return pid;
        }
        if (!havekids)
            return -1;
        sleep(curproc);
    }
}
