/*
 * xen/event_channel.h — event_channel_op(cmd, arg): the lightweight event
 * system that replaces hardware interrupts (paper §3.1, Table 1).
 */
#ifndef __XEN_PUBLIC_EVENT_CHANNEL_H__
#define __XEN_PUBLIC_EVENT_CHANNEL_H__

#define EVTCHNOP_bind_interdomain  0
#define EVTCHNOP_bind_virq         1
#define EVTCHNOP_bind_pirq         2
#define EVTCHNOP_close             3
#define EVTCHNOP_send              4
#define EVTCHNOP_status            5
#define EVTCHNOP_alloc_unbound     6
#define EVTCHNOP_bind_ipi          7
#define EVTCHNOP_bind_vcpu         8
#define EVTCHNOP_unmask            9
#define EVTCHNOP_reset            10

/* 2-level event channels: 32 words of 32 bits on a 32-bit guest. */
#define NR_EVENT_CHANNELS 1024

#ifndef __ASSEMBLER__
#include <stdint.h>

typedef uint32_t evtchn_port_t;

/* Offer a port that domain remote_dom may bind to. */
struct evtchn_alloc_unbound {
    uint16_t dom, remote_dom;   /* IN (domid_t) */
    evtchn_port_t port;         /* OUT */
};

/* Connect to a port another domain offered with alloc_unbound. */
struct evtchn_bind_interdomain {
    uint16_t remote_dom;        /* IN (domid_t) */
    evtchn_port_t remote_port;  /* IN */
    evtchn_port_t local_port;   /* OUT */
};

/* Receive a virtual interrupt (VIRQ_*) on a new port. */
struct evtchn_bind_virq {
    uint32_t virq;              /* IN */
    uint32_t vcpu;              /* IN */
    evtchn_port_t port;         /* OUT */
};

struct evtchn_bind_ipi {
    uint32_t vcpu;              /* IN */
    evtchn_port_t port;         /* OUT */
};

/* What a port is connected to (EVTCHNOP_status). */
#define EVTCHNSTAT_closed       0
#define EVTCHNSTAT_unbound      1
#define EVTCHNSTAT_interdomain  2
#define EVTCHNSTAT_pirq         3
#define EVTCHNSTAT_virq         4
#define EVTCHNSTAT_ipi          5

struct evtchn_status {
    uint16_t dom;               /* IN (domid_t): DOMID_SELF, or any (privileged) */
    evtchn_port_t port;         /* IN */
    uint32_t status;            /* OUT: EVTCHNSTAT_* */
    uint32_t vcpu;              /* OUT */
    union {
        struct { uint16_t dom; } unbound;
        struct { uint16_t dom; evtchn_port_t port; } interdomain;
        uint32_t pirq;
        uint32_t virq;
    } u;
};

struct evtchn_close  { evtchn_port_t port; };
struct evtchn_send   { evtchn_port_t port; };
struct evtchn_unmask { evtchn_port_t port; };

_Static_assert(sizeof(struct evtchn_alloc_unbound) == 8, "evtchn_alloc_unbound");
_Static_assert(sizeof(struct evtchn_bind_interdomain) == 12, "evtchn_bind_interdomain");
_Static_assert(sizeof(struct evtchn_bind_virq) == 12, "evtchn_bind_virq");
_Static_assert(sizeof(struct evtchn_status) == 24, "evtchn_status");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_EVENT_CHANNEL_H__ */
