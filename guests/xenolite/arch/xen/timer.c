/*
 * arch/xen/timer.c — the clock tick under Xen (paper §3.3.2): event
 * channels instead of an interrupt controller, a one-shot timer
 * (set_timer_op) instead of a programmable interval timer, and
 * SCHEDOP_block instead of `sti; hlt`.
 *
 * The virtual interrupt flag is vcpu_info.evtchn_upcall_mask. xenolite
 * runs its kernel with events masked: every trap-table entry masks them on
 * entry ("interrupt gate"), and so does Xen's upcall. They are unmasked in
 * two places only: by trapret on the way back to code that ran unmasked
 * (every ring-3 process does), and by SCHEDOP_block in the idle loop. So
 * the tick's upcall interrupts a ring-3 process: Xen bounces it onto the
 * process's kernel stack (stack_switch) like a trap, event_callback
 * (entry.S) builds a struct trapframe, and trap() handles the events and
 * preempts the process on its way back to ring 3.
 */
#include <console.h>
#include <events.h>
#include <hypercall.h>
#include <xen/callback.h>
#include "defs.h"

/* trapret unmasks through this when it returns to unmasked code; 0 until events are set up. */
volatile uint8_t *xen_upcall_mask;

static uint64_t tick_ns, next_deadline;
static void (*tick_handler)(void);

static volatile vcpu_info_t *vcpu0(void)
{
    return &HYPERVISOR_shared_info->vcpu_info[0];
}

/* System time in ns: xenlab's virtual TSC counts it (rdtsc traps to Xen, which emulates it). */
uint64_t arch_system_time(void)
{
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* The next tick: one period after the last deadline, so ticks do not drift; never in the past. */
static void arm_timer(void)
{
    uint64_t now = arch_system_time();

    next_deadline += tick_ns;
    if (next_deadline <= now)
        next_deadline = now + tick_ns;
    HYPERVISOR_set_timer_op(next_deadline);
}

static void on_timer(evtchn_port_t port, struct pt_regs *regs, void *data)
{
    arm_timer();
    tick_handler();
}

void arch_timer_init(unsigned long tick_us, void (*handler)(void))
{
    int rc, port;

    tick_ns = (uint64_t)tick_us * 1000;
    tick_handler = handler;
    rc = init_events();                 /* every port masked, events masked */
    /* Our own entry: the upcall becomes a struct trapframe, like a trap (entry.S). */
    if (rc == 0)
        rc = HYPERVISOR_set_callbacks(FLAT_RING1_CS, (unsigned long)event_callback,
                                      FLAT_RING1_CS, (unsigned long)failsafe_callback);
    if (rc < 0)
        panic("arch_timer_init: error %d", rc);
    port = bind_virq(VIRQ_TIMER, on_timer, 0);
    if (port < 0)
        panic("arch_timer_init: bind VIRQ_TIMER: error %d", port);
    next_deadline = arch_system_time();
    arm_timer();
    xen_upcall_mask = &vcpu0()->evtchn_upcall_mask;
    printk("timer: VIRQ_TIMER on port %d, a tick every %lu us\n", port, tick_us);
}

int arch_events_pending(void)
{
    return xen_upcall_mask && vcpu0()->evtchn_upcall_pending;
}

/*
 * Run the handlers of every pending event, with events masked, and leave
 * them masked. lib/events.c's do_hypervisor_callback re-enables events on
 * its way out unless the frame it is given says they were masked when the
 * event arrived: give it one that says so. The kernel unmasks only in
 * trapret and in arch_idle.
 */
void arch_handle_events(void)
{
    struct pt_regs regs = { .xcs = 1u << 16 };

    vcpu0()->evtchn_upcall_mask = 1;
    do_hypervisor_callback(&regs);
}

/*
 * Nothing to run: block until an event. SCHEDOP_block clears the mask
 * atomically with going to sleep (or returns at once if an event is
 * already pending), so a tick cannot slip in between the scheduler's look
 * and the block. Xen delivers the upcall as the hypercall returns, here in
 * ring 1 on the scheduler's stack; trapret restores the mask it found (0),
 * so mask again before the scheduler looks at the process table.
 */
void arch_idle(void)
{
    HYPERVISOR_sched_op(SCHEDOP_block, 0);
    vcpu0()->evtchn_upcall_mask = 1;
    __asm__ volatile("" ::: "memory");
}
