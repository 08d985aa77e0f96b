/*
 * syscall.h — the system-call interface, shared by the kernel and the user
 * programs: `int $0x80` with the number in EAX, arguments in EBX, ECX, EDX,
 * the result in EAX (negative on failure).
 */
#ifndef XENOLITE_SYSCALL_H
#define XENOLITE_SYSCALL_H

#define SYS_write       1       /* write(fd, buf, n) -> n */
#define SYS_fork        2       /* fork() -> child's pid in the parent, 0 in the child */
#define SYS_exit        3       /* exit(status): never returns */
#define SYS_wait        4       /* wait(&status) -> pid of an exited child, or -1 */
#define SYS_getpid      5       /* getpid() -> pid */
#define SYS_yield       6       /* yield(): let the other processes run */
#define SYS_sysinfo     7       /* sysinfo(&info) -> 0: the kernel's counters */
#define SYS_poweroff    8       /* poweroff(): init only; ends the domain */
#define SYS_sleep       9       /* sleep(ms) -> 0: wake when ms of system time have passed
                                   (-1 if the clock tick is off) */
#define SYS_uptime      10      /* uptime() -> system time in microseconds */
#define NSYSCALLS       11

/* What sysinfo() reports. */
struct sysinfo {
    unsigned int page_faults;   /* #PF traps taken */
    unsigned int zero_fills;    /* demand-zero pages handed out */
    unsigned int cow_copies;    /* pages copied on a write to a shared page */
    unsigned int mmu_batches;   /* mmu_update hypercalls (queue flushes) */
    unsigned int mmu_updates;   /* page-table writes they carried */
    unsigned int free_pages;    /* pages on the free list */
    unsigned int ticks;         /* clock ticks (VIRQ_TIMER) handled */
    unsigned int preemptions;   /* processes the tick made give way */
    unsigned int upcalls;       /* event upcalls taken */
};

#endif /* XENOLITE_SYSCALL_H */
