/*
 * events.c — event channels from the guest's side (paper §3.1), after
 * Mini-OS's events.c and arch/x86/events.c. See events.h for the model.
 *
 * Paper §3.1: Xen records pending events in a per-domain bitmap before it
 * calls the guest's event callback, and the guest can defer them with a
 * flag it owns, as a native kernel disables interrupts. That flag is
 * vcpu_info.evtchn_upcall_mask, the virtual interrupt flag: real cli/sti
 * #GP in ring 1, and a PV kernel does not need them, since masking events
 * is a byte store.
 *
 * Xen may change shared_info at any moment (from another physical CPU, or
 * at a hypercall or a context switch here), so the bitmaps are updated
 * with locked read-modify-writes and read through volatile pointers.
 */
#include <console.h>
#include <events.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <xen/callback.h>
#include <xen/version.h>

#define BITS_PER_WORD 32

/* One handler per port (Mini-OS's ev_actions[]). */
static struct {
    evtchn_handler_t handler;
    void *data;
} ev_actions[NR_EVENT_CHANNELS];

#define barrier() asm volatile ("" : : : "memory")

static volatile shared_info_t *shared(void)
{
    return HYPERVISOR_shared_info;
}

static volatile vcpu_info_t *vcpu0(void)
{
    return &HYPERVISOR_shared_info->vcpu_info[0];
}

/* Locked bit operations on a bitmap Xen writes too (Mini-OS's synch_*_bit). */
static void sync_set_bit(unsigned int nr, volatile xen_ulong_t *words)
{
    __atomic_fetch_or(&words[nr / BITS_PER_WORD], 1UL << (nr % BITS_PER_WORD), __ATOMIC_SEQ_CST);
}

static void sync_clear_bit(unsigned int nr, volatile xen_ulong_t *words)
{
    __atomic_fetch_and(&words[nr / BITS_PER_WORD], ~(1UL << (nr % BITS_PER_WORD)),
                       __ATOMIC_SEQ_CST);
}

/* Set the bit and return its old value. */
static int sync_test_and_set_bit(unsigned int nr, volatile xen_ulong_t *words)
{
    xen_ulong_t bit = 1UL << (nr % BITS_PER_WORD);

    return (__atomic_fetch_or(&words[nr / BITS_PER_WORD], bit, __ATOMIC_SEQ_CST) & bit) != 0;
}

static int test_bit(unsigned int nr, const volatile xen_ulong_t *words)
{
    return (words[nr / BITS_PER_WORD] >> (nr % BITS_PER_WORD)) & 1;
}

/* ------------------------------------------------------------ the virtual IF */

void force_evtchn_callback(void)
{
    (void)HYPERVISOR_xen_version(XENVER_version, 0);
}

void local_irq_disable(void)
{
    vcpu0()->evtchn_upcall_mask = 1;
    barrier();
}

/*
 * Unmasking is not enough. Xen looks for a due upcall only on its way back
 * into the guest: when a hypercall returns and when it schedules the domain
 * in. An event that arrived while we were masked is already marked pending
 * and will not be announced again: check for it after unmasking (in that
 * order, or one arriving between the check and the store would wait for
 * some unrelated hypercall) and make Xen deliver it now.
 */
void local_irq_enable(void)
{
    volatile vcpu_info_t *v = vcpu0();

    barrier();
    v->evtchn_upcall_mask = 0;
    barrier();
    if (v->evtchn_upcall_pending)
        force_evtchn_callback();
}

/* ------------------------------------------------------------ one port's bits */

void mask_evtchn(evtchn_port_t port)
{
    sync_set_bit(port, shared()->evtchn_mask);
}

void clear_evtchn(evtchn_port_t port)
{
    sync_clear_bit(port, shared()->evtchn_pending);
}

/*
 * While a port is masked, Xen still sets its pending bit but does not touch
 * the selector or upcall_pending (the event "loses its edge", as on an
 * IO-APIC). So after unmasking, do what Xen would have done: if the port is
 * pending, raise its selector bit and upcall_pending, and if events are
 * enabled, have the callback run now. (EVTCHNOP_unmask does the same in
 * Xen; doing it here saves a hypercall, as Mini-OS does.)
 */
void unmask_evtchn(evtchn_port_t port)
{
    volatile shared_info_t *s = shared();
    volatile vcpu_info_t *v = vcpu0();

    sync_clear_bit(port, s->evtchn_mask);
    if (test_bit(port, s->evtchn_pending) &&
        !sync_test_and_set_bit(port / BITS_PER_WORD, &v->evtchn_pending_sel)) {
        v->evtchn_upcall_pending = 1;
        if (!v->evtchn_upcall_mask)
            force_evtchn_callback();
    }
}

/* ------------------------------------------------------------ binding */

static void default_handler(evtchn_port_t port, struct pt_regs *regs, void *data)
{
    printk("events: event on unbound port %u\n", port);
}

int init_events(void)
{
    unsigned int i;

    for (i = 0; i < NR_EVENT_CHANNELS; i++) {
        ev_actions[i].handler = default_handler;
        ev_actions[i].data = 0;
    }
    /* Every port masked until something binds it (the console's port 1 too). */
    for (i = 0; i < NR_EVENT_CHANNELS / BITS_PER_WORD; i++)
        shared()->evtchn_mask[i] = ~0UL;
    /* Upcalls enter in ring 1 at hypervisor_callback; a failed segment
     * reload on the way back into the guest enters at failsafe_callback. */
    return HYPERVISOR_set_callbacks(FLAT_RING1_CS, (unsigned long)hypervisor_callback,
                                    FLAT_RING1_CS, (unsigned long)failsafe_callback);
}

int bind_evtchn(evtchn_port_t port, evtchn_handler_t handler, void *data)
{
    if (port >= NR_EVENT_CHANNELS)
        return -EINVAL;
    ev_actions[port].data = data;
    barrier();  /* the handler may run as soon as it is set: data first */
    ev_actions[port].handler = handler;
    unmask_evtchn(port);
    return (int)port;
}

void unbind_evtchn(evtchn_port_t port)
{
    struct evtchn_close close = { .port = port };

    if (port >= NR_EVENT_CHANNELS)
        return;
    mask_evtchn(port);
    clear_evtchn(port);
    ev_actions[port].handler = default_handler;
    barrier();
    ev_actions[port].data = 0;
    if (HYPERVISOR_event_channel_op(EVTCHNOP_close, &close))
        printk("events: closing port %u failed\n", port);
}

int bind_virq(uint32_t virq, evtchn_handler_t handler, void *data)
{
    struct evtchn_bind_virq op = { .virq = virq, .vcpu = 0 };
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);

    return rc ? rc : bind_evtchn(op.port, handler, data);
}

int evtchn_alloc_unbound(domid_t remote_dom, evtchn_port_t *port)
{
    struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote_dom };
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);

    if (rc == 0)
        *port = op.port;
    return rc;
}

int evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port,
                            evtchn_port_t *local_port)
{
    struct evtchn_bind_interdomain op = { .remote_dom = remote_dom, .remote_port = remote_port };
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);

    if (rc == 0)
        *local_port = op.local_port;
    return rc;
}

int notify_remote_via_evtchn(evtchn_port_t port)
{
    struct evtchn_send op = { .port = port };

    return HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

/* ------------------------------------------------------------ the upcall */

/*
 * The two-level scan (Mini-OS's do_hypervisor_callback). Xen set bit l1 of
 * pending_sel for every word l1 of evtchn_pending that gained an unmasked
 * pending bit. upcall_pending is cleared first and pending_sel swapped to 0
 * atomically, so an event Xen posts during the scan sets them again and is
 * seen by the caller's re-check rather than lost. Each port's pending bit
 * is cleared before its handler runs, so an event raised while the handler
 * runs stays pending for the next round.
 */
static void scan_pending_events(struct pt_regs *regs)
{
    volatile shared_info_t *s = shared();
    volatile vcpu_info_t *v = vcpu0();
    xen_ulong_t l1, l2;

    v->evtchn_upcall_pending = 0;
    l1 = __atomic_exchange_n(&v->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    while (l1) {
        unsigned int l1i = __builtin_ctzl(l1);

        l1 &= ~(1UL << l1i);
        while ((l2 = s->evtchn_pending[l1i] & ~s->evtchn_mask[l1i]) != 0) {
            evtchn_port_t port = l1i * BITS_PER_WORD + __builtin_ctzl(l2);

            clear_evtchn(port);
            ev_actions[port].handler(port, regs, ev_actions[port].data);
        }
    }
}

/*
 * Called by hypervisor_callback with the saved registers. Xen set
 * upcall_mask = 1 when it upcalled us, so handlers run with events masked
 * and cannot be re-entered. The return must re-enable events, and this is
 * the race paper §3.1's virtual interrupt flag creates: the guest, not the
 * CPU, restores the flag, so "restore IF and return" is no longer one
 * atomic iret.
 *
 *  - Unmask and return without looking, and an event that arrived while
 *    we were masked (Xen marked it pending but could not upcall) sits
 *    there until some unrelated hypercall or context switch: a lost
 *    wakeup for a domain that is about to block.
 *  - Look first and then unmask, and one arriving between the look and the
 *    unmask is lost the same way.
 *
 * So: unmask, then look; if something is pending, mask again and handle it
 * here, in a loop, instead of making Xen upcall us on top of our own frame.
 * The saved CS bits 16-23 hold the mask as it was when the event
 * interrupted us; Xen only upcalls an unmasked vCPU, so it is 0, but only
 * restore what was saved.
 *
 * One window remains: between the unmask here and the iret, if Xen gets
 * control (the slice ends) with a new event pending, it upcalls again and
 * pushes a second frame below this one. That is correct, only deeper;
 * Mini-OS's "critical region" fixup merges the two frames instead, which
 * bounds the stack. Here the window is a dozen instructions.
 */
void do_hypervisor_callback(struct pt_regs *regs)
{
    volatile vcpu_info_t *v = vcpu0();

    for (;;) {
        scan_pending_events(regs);
        if ((regs->xcs >> 16) & 0xff)
            return;         /* interrupted with events masked: stay masked */
        v->evtchn_upcall_mask = 0;
        barrier();
        if (!v->evtchn_upcall_pending)
            return;
        v->evtchn_upcall_mask = 1;
        barrier();
    }
}

/* Xen could not reload a segment register on the way back into the guest. */
void do_failsafe_callback(void)
{
    printk("events: failsafe callback (a bad segment on return to the guest)\n");
    shutdown(SHUTDOWN_crash);
}
