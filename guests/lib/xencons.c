/*
 * xencons.c — the console ring (Mini-OS's xencons_ring.c): the PV console
 * of paper §3.2, a page of two byte rings shared with domain 0 plus an
 * event channel. The guest produces into out[] and consumes in[]; indices
 * run freely and are masked by each buffer's size (xen/io/console.h).
 */
#include <console.h>
#include <events.h>
#include <hypercall.h>
#include <hypervisor.h>
#include <xen/io/console.h>

static struct xencons_interface *cons;
static evtchn_port_t cons_port;

#define wmb() __asm__ __volatile__("" ::: "memory")  /* x86: stores stay in order */
#define mb()  __asm__ __volatile__("lock; addl $0,0(%%esp)" ::: "memory")

int xencons_ring_init(const start_info_t *si)
{
    struct evtchn_status st = { .dom = DOMID_SELF, .port = si->console.domU.evtchn };

    /* Only a port domain 0 has bound has a back end behind it (a bare Xen,
     * with no domain 0, leaves it unbound: keep using console_io). */
    if (HYPERVISOR_event_channel_op(EVTCHNOP_status, &st) != 0 ||
        st.status != EVTCHNSTAT_interdomain)
        return -1;
    cons_port = si->console.domU.evtchn;
    cons = boot_mfn_to_virt(si->console.domU.mfn);
    return 0;
}

int xencons_ring_ready(void)
{
    return cons != 0;
}

void xencons_ring_write(const char *s, int len)
{
    while (len > 0) {
        XENCONS_RING_IDX cons_idx = cons->out_cons, prod = cons->out_prod;
        int room;

        mb();                               /* read out_cons before reusing space */
        room = (int)sizeof(cons->out) - (int)(prod - cons_idx);
        if (room <= 0) {
            /* Full: let domain 0 drain it (it runs between slices). */
            notify_remote_via_evtchn(cons_port);
            HYPERVISOR_sched_op(SCHEDOP_yield, 0);
            continue;
        }
        while (room-- > 0 && len > 0) {
            cons->out[MASK_XENCONS_IDX(prod++, cons->out)] = *s++;
            len--;
        }
        wmb();                              /* the bytes before the index */
        cons->out_prod = prod;
        notify_remote_via_evtchn(cons_port);
    }
}

int xencons_ring_read(char *buf, int len)
{
    XENCONS_RING_IDX c, p;
    int n = 0;

    if (!cons)
        return 0;
    c = cons->in_cons;
    p = cons->in_prod;
    mb();                                   /* the index before the bytes */
    if (p - c > sizeof(cons->in))
        return 0;                           /* a corrupt index: read nothing */
    while (c != p && n < len)
        buf[n++] = cons->in[MASK_XENCONS_IDX(c++, cons->in)];
    mb();
    cons->in_cons = c;
    if (n)
        notify_remote_via_evtchn(cons_port);
    return n;
}
