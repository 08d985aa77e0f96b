/*
 * xen/version.h — xen_version(cmd, arg): what hypervisor is this, and what
 * does it offer? XENVER_version returns (major << 16) | minor in EAX; the
 * other commands fill the buffer at arg.
 */
#ifndef __XEN_PUBLIC_VERSION_H__
#define __XEN_PUBLIC_VERSION_H__

#define XENVER_version              0   /* returns major << 16 | minor */
#define XENVER_extraversion         1   /* arg: xen_extraversion_t */
#define XENVER_compile_info         2   /* arg: struct xen_compile_info */
#define XENVER_capabilities         3   /* arg: xen_capabilities_info_t */
#define XENVER_changeset            4   /* arg: xen_changeset_info_t */
#define XENVER_platform_parameters  5   /* arg: struct xen_platform_parameters */
#define XENVER_get_features         6   /* arg: struct xen_feature_info */
#define XENVER_pagesize             7   /* returns the page size */
#define XENVER_guest_handle         8   /* xen_domain_handle_t: the domain's 16-byte handle */
#define XENVER_commandline          9   /* xen_commandline_t: Xen's own command line */

#ifndef __ASSEMBLER__
#include <stdint.h>

typedef char xen_extraversion_t[16];
typedef char xen_capabilities_info_t[1024];
typedef char xen_changeset_info_t[64];

struct xen_compile_info {
    char compiler[64];
    char compile_by[16];
    char compile_domain[32];
    char compile_date[32];
};
typedef struct xen_compile_info xen_compile_info_t;

struct xen_platform_parameters {
    unsigned long virt_start;   /* where the hypervisor hole begins */
};
typedef struct xen_platform_parameters xen_platform_parameters_t;

/* One 32-bit word of the XENFEAT_* bitmap (see xen/features.h). */
struct xen_feature_info {
    unsigned int submap_idx;    /* IN: which word */
    uint32_t     submap;        /* OUT: its bits */
};
typedef struct xen_feature_info xen_feature_info_t;

_Static_assert(sizeof(struct xen_compile_info) == 144, "xen_compile_info");
_Static_assert(sizeof(struct xen_feature_info) == 8, "xen_feature_info");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_VERSION_H__ */
