/*
 * xen/memory.h — memory_op(cmd, arg): grow or shrink the domain's
 * reservation of machine frames (the balloon interface, paper §3.3.3).
 */
#ifndef __XEN_PUBLIC_MEMORY_H__
#define __XEN_PUBLIC_MEMORY_H__

#define XENMEM_increase_reservation  0
#define XENMEM_decrease_reservation  1
#define XENMEM_maximum_ram_page      2
#define XENMEM_current_reservation   3
#define XENMEM_maximum_reservation   4
#define XENMEM_machphys_mfn_list     5
#define XENMEM_populate_physmap      6
#define XENMEM_exchange             11
#define XENMEM_machphys_mapping     12

#ifndef __ASSEMBLER__
#include <xen/xen.h>

struct xen_memory_reservation {
    xen_pfn_t *extent_start;    /* IN/OUT: array of frames */
    xen_ulong_t nr_extents;
    unsigned int extent_order;  /* each extent is 2^order pages */
    unsigned int mem_flags;
    domid_t domid;
};
typedef struct xen_memory_reservation xen_memory_reservation_t;

_Static_assert(sizeof(struct xen_memory_reservation) == 20, "xen_memory_reservation");
_Static_assert(offsetof(struct xen_memory_reservation, domid) == 16, "domid");

/* XENMEM_machphys_mapping: where the read-only M2P lives, and its last valid MFN. */
struct xen_machphys_mapping {
    xen_ulong_t v_start, v_end;
    xen_ulong_t max_mfn;
};
typedef struct xen_machphys_mapping xen_machphys_mapping_t;

_Static_assert(sizeof(struct xen_machphys_mapping) == 12, "xen_machphys_mapping");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_MEMORY_H__ */
