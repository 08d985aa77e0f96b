/*
 * timers — the other ways a PV kernel waits (paper §3.3.2): SCHEDOP_poll
 * sleeps until given ports are pending or a timeout passes, without touching
 * the virtual interrupt flag; vcpu_op gives each vCPU a one-shot and a
 * periodic timer besides set_timer_op.  Times are virtual: every run prints
 * the same numbers.
 */
#include <checks.h>
#include <console.h>
#include <events.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <xen/event_channel.h>
#include <xen/vcpu.h>

static volatile unsigned long ticks;

static void on_tick(evtchn_port_t port, struct pt_regs *regs, void *data)
{
    (void)port;
    (void)regs;
    (void)data;
    ticks++;
}

static inline uint64_t now(void)
{
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));   /* Xen's virtual TSC: system time */
    return ((uint64_t)hi << 32) | lo;
}

static long poll(evtchn_port_t *ports, unsigned int n, uint64_t timeout)
{
    struct sched_poll p = { .nr_ports = n, .timeout = timeout };

    p.ports = ports;
    return HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}

void start_kernel(start_info_t *si)
{
    struct evtchn_bind_ipi ipi = { .vcpu = 0 };
    struct vcpu_set_singleshot_timer shot = { .timeout_abs_ns = 1, .flags = VCPU_SSHOTTMR_future };
    struct vcpu_set_periodic_timer period = { .period_ns = 1000000 };
    evtchn_port_t port;
    uint64_t t0;

    map_shared_info(si);
    init_events();
    check("vcpu_op(is_up, vcpu 0)", HYPERVISOR_vcpu_op(VCPUOP_is_up, 0, 0), 1);
    check("vcpu_op(is_up, vcpu 1)", HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, 0), -ENOENT);
    check("one-shot timer in the past, 'future' flag", HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &shot), -ETIME);

    check("bind an IPI port (left masked)", HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &ipi), 0);
    port = ipi.port;
    t0 = now();
    check("poll it with a 2 ms timeout", poll(&port, 1, t0 + 2000000), 0);
    check("  ...slept until the timeout", now() - t0 >= 2000000, 1);
    notify_remote_via_evtchn(port);           /* pending, though masked */
    t0 = now();
    check("poll a pending port", poll(&port, 1, t0 + 2000000), 0);
    check("  ...returned at once", now() - t0 < 100000, 1);
    clear_evtchn(port);

    bind_virq(VIRQ_TIMER, on_tick, NULL);
    check("periodic timer, 1 ms", HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &period), 0);
    t0 = now();
    while (ticks < 5)
        HYPERVISOR_sched_op(SCHEDOP_block, 0);
    check("  ...5 ticks took 5 ms of system time", (now() - t0 + 500000) / 1000000, 5);
    check("stop it", HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, 0), 0);
    checks_done();
}
