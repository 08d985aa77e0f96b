/*
 * latency — what BVT's warp is for (paper §3.3.1): an event-driven domain
 * that sleeps most of the time.  It sets a one-shot timer 1 ms ahead, blocks,
 * and when VIRQ_TIMER's upcall finally runs it notes how late that is in
 * system time: the dispatch latency the scheduler gave it.  `rounds=N`
 * (default 20).
 */
#include <cmdline.h>
#include <console.h>
#include <events.h>
#include <hypercall.h>
#include <hypervisor.h>

static volatile uint64_t woke_at;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;     /* Xen's virtual TSC: system time in ns */
}

static void on_timer(evtchn_port_t port, struct pt_regs *regs, void *data)
{
    (void)port;
    (void)regs;
    (void)data;
    woke_at = rdtsc();
}

void start_kernel(start_info_t *si)
{
    unsigned long i, rounds = cmdline_ulong((const char *)si->cmd_line, "rounds", 20);
    uint64_t deadline, late, total = 0, worst = 0;

    map_shared_info(si);
    init_events();
    bind_virq(VIRQ_TIMER, on_timer, NULL);
    for (i = 0; i < rounds; i++) {
        woke_at = 0;
        deadline = rdtsc() + 1000000;
        HYPERVISOR_set_timer_op(deadline);
        while (!woke_at)
            HYPERVISOR_sched_op(SCHEDOP_block, 0);
        late = woke_at - deadline;
        total += late;
        if (late > worst)
            worst = late;
    }
    printk("latency: %lu wakeups, mean %llu ns late, worst %llu ns\n", rounds,
           (unsigned long long)(total / rounds), (unsigned long long)worst);
    shutdown(SHUTDOWN_poweroff);
}
