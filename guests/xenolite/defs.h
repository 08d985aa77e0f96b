/*
 * defs.h — every function one file of xenolite calls in another, grouped by
 * the file that defines it (the machine interface is in arch.h).
 */
#ifndef XENOLITE_DEFS_H
#define XENOLITE_DEFS_H

#include "arch.h"

struct context;
struct proc;
struct sysinfo;

/* main.c */
extern const char *boot_cmdline;       /* start_info.cmd_line */
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* kalloc.c */
void kfree_range(void *start, void *end);
void *kalloc(void);
void kfree(void *page);
void kref(void *page);
int krefcount(const void *page);
unsigned int kfree_count(void);

/* vm.c */
struct vm_stats {
    unsigned int zero_fills;    /* demand-zero pages */
    unsigned int cow_copies;    /* shared pages copied on a write */
    unsigned int cow_reuses;    /* last sharer of a page made it writable again */
};
extern struct vm_stats vm_stats;
pte_t *uvm_create(void);
int uvm_load(pte_t *l3, unsigned long va, const char *src, unsigned long len);
pte_t *uvm_copy(pte_t *l3);
void uvm_free(pte_t *l3);
int uvm_fault(pte_t *l3, unsigned long va, int write);
int copyout(pte_t *l3, unsigned long va, const void *src, unsigned long len);
int copyin(pte_t *l3, void *dst, unsigned long va, unsigned long len);
unsigned long uvm_frame(pte_t *l3, unsigned long va, int write);

/* proc.c */
extern int need_resched;                /* the tick wants the running process to give way */
extern unsigned int nr_ticks, nr_preemptions;
void userinit(int nworkers, int probes, int prefault_kib, int spin);
void clock_init(unsigned long tick_us);
int sleep_ms(unsigned int ms);
void scheduler(void) __attribute__((noreturn));
int fork(void);
void exit(int status) __attribute__((noreturn));
int wait(unsigned long status_va);
void yield(void);
void sleep(void *chan);
void wakeup(void *chan);

/* swtch.S */
void swtch(struct context **old, struct context *new);

/* syscall.c */
void syscall(struct trapframe *tf);

/* trap.c */
extern unsigned int nr_page_faults;
extern unsigned int nr_event_upcalls;
void trap(struct trapframe *tf);

#endif /* XENOLITE_DEFS_H */
