/*
 * xen/sched.h — sched_op(cmd, arg): give up the CPU, wait for events, or
 * end the domain. Replaces hlt, which traps in ring 1 (paper §2.1.2).
 */
#ifndef __XEN_PUBLIC_SCHED_H__
#define __XEN_PUBLIC_SCHED_H__

#include <xen/event_channel.h>

#define SCHEDOP_yield            0  /* let another vCPU/domain run */
#define SCHEDOP_block            1  /* sleep until an event is pending */
#define SCHEDOP_shutdown         2  /* arg: struct sched_shutdown */
#define SCHEDOP_poll             3  /* arg: struct sched_poll */
#define SCHEDOP_remote_shutdown  4  /* arg: struct sched_remote_shutdown */
#define SCHEDOP_shutdown_code    5
#define SCHEDOP_watchdog         6

/* Reasons for SCHEDOP_shutdown, reported to the toolstack. */
#define SHUTDOWN_poweroff  0    /* domain exited normally: clean up */
#define SHUTDOWN_reboot    1    /* restart the domain */
#define SHUTDOWN_suspend   2    /* save the domain's state */
#define SHUTDOWN_crash     3    /* tell the toolstack we crashed */
#define SHUTDOWN_watchdog  4    /* a watchdog timer expired */

#ifndef __ASSEMBLER__
#include <stdint.h>

struct sched_shutdown {
    unsigned int reason;        /* SHUTDOWN_* */
};
typedef struct sched_shutdown sched_shutdown_t;

struct sched_poll {
    evtchn_port_t *ports;
    unsigned int nr_ports;
    uint64_t timeout;           /* absolute system time, 0 = none */
};
typedef struct sched_poll sched_poll_t;

struct sched_remote_shutdown {
    uint16_t domain_id;
    unsigned int reason;
};
typedef struct sched_remote_shutdown sched_remote_shutdown_t;

_Static_assert(sizeof(struct sched_shutdown) == 4, "sched_shutdown");
_Static_assert(sizeof(struct sched_poll) == 16, "sched_poll");
_Static_assert(sizeof(struct sched_remote_shutdown) == 8, "sched_remote_shutdown");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_SCHED_H__ */
