/*
 * xen/vcpu.h — per-vCPU operations (vcpu_op, hypercall 24): which vCPUs are
 * up, and the two timers each vCPU has besides set_timer_op.
 */
#ifndef __XEN_PUBLIC_VCPU_H__
#define __XEN_PUBLIC_VCPU_H__

#define VCPUOP_initialise              0
#define VCPUOP_up                      1
#define VCPUOP_down                    2
#define VCPUOP_is_up                   3
#define VCPUOP_get_runstate_info       4
#define VCPUOP_set_periodic_timer      6   /* arg: struct vcpu_set_periodic_timer */
#define VCPUOP_stop_periodic_timer     7
#define VCPUOP_set_singleshot_timer    8   /* arg: struct vcpu_set_singleshot_timer */
#define VCPUOP_stop_singleshot_timer   9

/* With this flag a deadline already in the past is refused (-ETIME). */
#define VCPU_SSHOTTMR_future           1

#ifndef __ASSEMBLER__
#include <stdint.h>

struct vcpu_set_periodic_timer {
    uint64_t period_ns;
};

struct vcpu_set_singleshot_timer {
    uint64_t timeout_abs_ns;    /* system time */
    uint32_t flags;             /* VCPU_SSHOTTMR_* */
};

_Static_assert(sizeof(struct vcpu_set_singleshot_timer) == 12, "vcpu_set_singleshot_timer");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_VCPU_H__ */
