/*
 * xen/domctl.h — the privileged control interface (paper §2.3): what
 * domain 0's toolstack asks Xen to do to other domains. Only a privileged
 * domain may call it; any other gets -EPERM. A subset of Xen 3.1's.
 */
#ifndef __XEN_PUBLIC_DOMCTL_H__
#define __XEN_PUBLIC_DOMCTL_H__

#include <stdint.h>

#define XEN_DOMCTL_INTERFACE_VERSION 0x00000005

#define XEN_DOMCTL_destroydomain  2
#define XEN_DOMCTL_pausedomain    3
#define XEN_DOMCTL_unpausedomain  4
#define XEN_DOMCTL_getdomaininfo  5
#define XEN_DOMCTL_max_mem       11

#define XEN_DOMINF_dying     (1U << 0)
#define XEN_DOMINF_shutdown  (1U << 2)
#define XEN_DOMINF_paused    (1U << 3)
#define XEN_DOMINF_blocked   (1U << 4)
#define XEN_DOMINF_running   (1U << 5)

struct xen_domctl_getdomaininfo {
    uint16_t domain;
    uint32_t flags;
    uint64_t tot_pages __attribute__((aligned(8)));
    uint64_t max_pages __attribute__((aligned(8)));
    uint64_t shared_info_frame __attribute__((aligned(8)));
    uint64_t cpu_time __attribute__((aligned(8)));   /* ns */
    uint32_t nr_online_vcpus;
    uint32_t max_vcpu_id;
    uint32_t ssidref;
    uint8_t handle[16];
};

struct xen_domctl_max_mem {
    uint64_t max_memkb __attribute__((aligned(8)));
};

struct xen_domctl {
    uint32_t cmd;
    uint32_t interface_version;
    uint16_t domain;
    union {
        struct xen_domctl_getdomaininfo getdomaininfo;
        struct xen_domctl_max_mem max_mem;
        uint8_t pad[128];
    } u __attribute__((aligned(8)));
};

_Static_assert(__builtin_offsetof(struct xen_domctl, u) == 16, "xen_domctl.u");
_Static_assert(__builtin_offsetof(struct xen_domctl_getdomaininfo, cpu_time) == 32, "cpu_time");
_Static_assert(__builtin_offsetof(struct xen_domctl_getdomaininfo, handle) == 52, "handle");

#endif /* __XEN_PUBLIC_DOMCTL_H__ */
