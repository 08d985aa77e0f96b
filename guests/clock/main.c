/*
 * clock — the three times of paper §3.3.2, from the guest's side.  System
 * time comes from vcpu_time_info (read with Xen's version protocol) plus the
 * TSC, which Xen emulates: in xenlab every guest instruction is one virtual
 * nanosecond, so the values below are the same on every run.  Then a
 * one-shot timer (set_timer_op) and SCHEDOP_block: the domain sleeps, Xen
 * lets time jump to the deadline, and VIRQ_TIMER wakes it.
 */
#include <console.h>
#include <events.h>
#include <hypercall.h>
#include <hypervisor.h>

static volatile int timer_fired;

static void on_timer(evtchn_port_t port, struct pt_regs *regs, void *data)
{
    (void)port;
    (void)regs;
    (void)data;
    timer_fired = 1;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* System time now: the record Xen published, advanced by the TSC since then. */
static uint64_t system_time(void)
{
    volatile struct vcpu_time_info *t = &HYPERVISOR_shared_info->vcpu_info[0].time;
    uint32_t version;
    uint64_t stamp, base, tsc;

    do {                                    /* odd: Xen is writing the record */
        version = t->version;
        asm volatile("" ::: "memory");
        stamp = t->tsc_timestamp;
        base = t->system_time;
        tsc = rdtsc();
        asm volatile("" ::: "memory");
    } while ((version & 1) || version != t->version);
    return base + (((tsc - stamp) << t->tsc_shift) * t->tsc_to_system_mul >> 32);
}

void start_kernel(start_info_t *si)
{
    uint64_t t0, t1, deadline, woke;
    unsigned long sec;
    int port;

    map_shared_info(si);
    init_events();                          /* the event callback, before any event */
    t0 = rdtsc();
    t1 = rdtsc();
    printk("two rdtsc in a row: %llu then %llu (%llu ns apart)\n",
           (unsigned long long)t0, (unsigned long long)t1, (unsigned long long)(t1 - t0));
    sec = HYPERVISOR_shared_info->wc_sec;
    printk("wall clock at boot: %lu s since 1970 (day %lu)\n", sec, sec / 86400);
    port = bind_virq(VIRQ_TIMER, on_timer, NULL);
    printk("bind VIRQ_TIMER: port %d\n", port);
    deadline = system_time() + 1000000;     /* 1 ms of system time from now */
    printk("timer set: %ld\n", HYPERVISOR_set_timer_op(deadline));
    while (!timer_fired)                    /* block re-enables events; the upcall runs on_timer */
        HYPERVISOR_sched_op(SCHEDOP_block, 0);
    woke = system_time();
    printk("woke by the timer: %s (%llu ns past the deadline)\n",
           woke >= deadline ? "on time" : "TOO EARLY", (unsigned long long)(woke - deadline));
    shutdown(SHUTDOWN_poweroff);
}
