/*
 * events.h — event channels from the guest's side (paper §3.1; Mini-OS's
 * events.h): the PV replacement for hardware interrupts.
 *
 * Xen notifies a domain by setting a bit in shared_info: evtchn_pending[]
 * holds one bit per port, vcpu_info.evtchn_pending_sel one bit per word of
 * it, and vcpu_info.evtchn_upcall_pending says "look". If the domain's
 * virtual interrupt flag allows it (vcpu_info.evtchn_upcall_mask == 0),
 * Xen then "upcalls" the event callback registered by init_events():
 * hypervisor_callback (lib/hypervisor_callback.S), which saves the
 * registers and calls do_hypervisor_callback() (lib/events.c) to find the
 * pending ports and call each port's handler.
 *
 * Use: map_shared_info(), init_events(), then bind a handler to each port
 * the domain uses; events arrive once the upcall mask is cleared
 * (local_irq_enable() or SCHEDOP_block).
 */
#ifndef __EVENTS_H__
#define __EVENTS_H__

#include <stdint.h>
#include <xen/event_channel.h>
#include <xen/xen.h>

/*
 * What hypervisor_callback saved, lowest address first: the general
 * registers and data segments it pushed, then Xen's bounce frame (the same
 * frame as an exception without an error code). ESP and SS are only there
 * when the event interrupted ring 3.
 */
struct pt_regs {
    long ebx, ecx, edx, esi, edi, ebp, eax;
    long xds, xes;
    long eip;
    unsigned long xcs;      /* bits 16-23: evtchn_upcall_mask when interrupted */
    long eflags;
    long esp, xss;          /* from ring 3 only */
};

/* A port's handler runs in the upcall, with events masked. */
typedef void (*evtchn_handler_t)(evtchn_port_t port, struct pt_regs *regs, void *data);

/* Register hypervisor_callback with Xen and mask every port: 0 or -errno.
 * Needs map_shared_info() first. Events stay masked (upcall_mask = 1). */
int init_events(void);

/* Call handler(port, regs, data) for each event on port, and unmask it:
 * the port, or -EINVAL if it is out of range. */
int bind_evtchn(evtchn_port_t port, evtchn_handler_t handler, void *data);
/* Mask the port, forget its handler and close it (EVTCHNOP_close). */
void unbind_evtchn(evtchn_port_t port);
/* Bind a new port to virtual interrupt virq (VIRQ_*) on vCPU 0, with a
 * handler: the port, or -errno. */
int bind_virq(uint32_t virq, evtchn_handler_t handler, void *data);

/* Offer a port that domain remote_dom may bind to (EVTCHNOP_alloc_unbound). */
int evtchn_alloc_unbound(domid_t remote_dom, evtchn_port_t *port);
/* Connect to the port remote_port that remote_dom offered: our end is *local_port. */
int evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port,
                            evtchn_port_t *local_port);
/* Raise an event at the other end of port (EVTCHNOP_send): 0 or -errno. */
int notify_remote_via_evtchn(evtchn_port_t port);

/* One port's mask and pending bits, in shared_info. */
void mask_evtchn(evtchn_port_t port);
void unmask_evtchn(evtchn_port_t port);
void clear_evtchn(evtchn_port_t port);

/* The virtual interrupt flag: vcpu_info[0].evtchn_upcall_mask = 1 / 0. */
void local_irq_disable(void);
void local_irq_enable(void);
/* Make Xen look at upcall_pending now: any hypercall returns through its
 * upcall check, and xen_version(0) is the cheapest (Mini-OS). */
void force_evtchn_callback(void);

/* The entry points named to Xen (lib/hypervisor_callback.S) and the C they call. */
void hypervisor_callback(void);
void failsafe_callback(void);
void do_hypervisor_callback(struct pt_regs *regs);
void do_failsafe_callback(void) __attribute__((noreturn));

#endif /* __EVENTS_H__ */
