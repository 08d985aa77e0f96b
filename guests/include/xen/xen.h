/*
 * xen/xen.h — the core of Xen's public PV ABI as a 32-bit PAE guest sees
 * it: hypercall numbers, MMU operations, and the three structures the guest
 * shares with the hypervisor (start_info, shared_info, vcpu_info).
 *
 * Numbers and layouts are those of Xen's xen/include/public/xen.h for
 * -m32 (xen-pv-abi.md). Every layout is pinned by _Static_assert so a typo
 * fails the build instead of corrupting a hypercall. The numeric part is
 * usable from assembly (head.S calls sched_op by number).
 */
#ifndef __XEN_PUBLIC_XEN_H__
#define __XEN_PUBLIC_XEN_H__

#include <xen/arch-x86/xen.h>

/*
 * Hypercall numbers: EAX at `int $0x82`, and the slot (nr * 32 bytes) of
 * the stub in the hypercall page. Gaps (11, 25, 27, 31, 34) are numbers
 * Xen retired or never gave to x86 PV guests.
 */
#define __HYPERVISOR_set_trap_table                 0
#define __HYPERVISOR_mmu_update                     1
#define __HYPERVISOR_set_gdt                        2
#define __HYPERVISOR_stack_switch                   3
#define __HYPERVISOR_set_callbacks                  4
#define __HYPERVISOR_fpu_taskswitch                 5
#define __HYPERVISOR_sched_op_compat                6
#define __HYPERVISOR_platform_op                    7   /* was dom0_op */
#define __HYPERVISOR_set_debugreg                   8
#define __HYPERVISOR_get_debugreg                   9
#define __HYPERVISOR_update_descriptor             10
#define __HYPERVISOR_memory_op                     12
#define __HYPERVISOR_multicall                     13
#define __HYPERVISOR_update_va_mapping             14
#define __HYPERVISOR_set_timer_op                  15
#define __HYPERVISOR_event_channel_op_compat       16
#define __HYPERVISOR_xen_version                   17
#define __HYPERVISOR_console_io                    18
#define __HYPERVISOR_physdev_op_compat             19
#define __HYPERVISOR_grant_table_op                20
#define __HYPERVISOR_vm_assist                     21
#define __HYPERVISOR_update_va_mapping_otherdomain 22
#define __HYPERVISOR_iret                          23
#define __HYPERVISOR_vcpu_op                       24
#define __HYPERVISOR_mmuext_op                     26
#define __HYPERVISOR_nmi_op                        28
#define __HYPERVISOR_sched_op                      29
#define __HYPERVISOR_callback_op                   30
#define __HYPERVISOR_event_channel_op              32
#define __HYPERVISOR_physdev_op                    33
#define __HYPERVISOR_sysctl                        35
#define __HYPERVISOR_domctl                        36

/* Virtual interrupts: events Xen raises itself (bind with EVTCHNOP_bind_virq). */
#define VIRQ_TIMER      0   /* the one-shot timer of set_timer_op fired */
#define VIRQ_DEBUG      1   /* debug request from the console */
#define VIRQ_CONSOLE    2   /* (dom0) bytes arrived on the emergency console */
#define VIRQ_DOM_EXC    3   /* (dom0) a domain crashed or shut down */

/*
 * mmu_update: ptr & 3 picks the command; the rest of ptr is a machine
 * address. Every NORMAL_PT_UPDATE is validated (paper §3.3.3) before Xen
 * writes val into the page-table entry at ptr.
 */
#define MMU_NORMAL_PT_UPDATE        0   /* ptr = MA of the PTE, val = new PTE */
#define MMU_MACHPHYS_UPDATE         1   /* ptr = MA of a frame, val = its pfn */
#define MMU_PT_UPDATE_PRESERVE_AD   2
#define MMU_PT_UPDATE_NO_TRANSLATE  3

/* mmuext_op commands: pinning, base pointer, TLB and cache maintenance. */
#define MMUEXT_PIN_L1_TABLE     0
#define MMUEXT_PIN_L2_TABLE     1
#define MMUEXT_PIN_L3_TABLE     2
#define MMUEXT_PIN_L4_TABLE     3
#define MMUEXT_UNPIN_TABLE      4
#define MMUEXT_NEW_BASEPTR      5
#define MMUEXT_TLB_FLUSH_LOCAL  6
#define MMUEXT_INVLPG_LOCAL     7
#define MMUEXT_TLB_FLUSH_MULTI  8
#define MMUEXT_INVLPG_MULTI     9
#define MMUEXT_TLB_FLUSH_ALL   10
#define MMUEXT_INVLPG_ALL      11
#define MMUEXT_FLUSH_CACHE     12
#define MMUEXT_SET_LDT         13
#define MMUEXT_CLEAR_PAGE      16
#define MMUEXT_COPY_PAGE       17

/* update_va_mapping flags: which flush follows the PTE write, and where. */
#define UVMF_NONE           0
#define UVMF_TLB_FLUSH      1
#define UVMF_INVLPG         2
#define UVMF_FLUSHTYPE_MASK 3
#define UVMF_MULTI          (0 << 2)    /* flush the vCPUs in a mask */
#define UVMF_LOCAL          (0 << 2)    /* flush only this vCPU */
#define UVMF_ALL            (1 << 2)    /* flush every vCPU of the domain */

/* console_io commands: Xen's own (emergency) console. */
#define CONSOLEIO_write 0
#define CONSOLEIO_read  1

/* vm_assist: ask Xen to emulate something a native kernel would expect. */
#define VMASST_CMD_enable                0
#define VMASST_CMD_disable               1
#define VMASST_TYPE_4gb_segments         0
#define VMASST_TYPE_4gb_segments_notify  1
#define VMASST_TYPE_writable_pagetables  2
#define VMASST_TYPE_pae_extended_cr3     3

/* Domain ids with special meanings. */
#define DOMID_FIRST_RESERVED 0x7FF0
#define DOMID_SELF           0x7FF0
#define DOMID_IO             0x7FF1
#define DOMID_XEN            0x7FF2

/* start_info.flags */
#define SIF_PRIVILEGED  (1 << 0)    /* the domain may use privileged hypercalls */
#define SIF_INITDOMAIN  (1 << 1)    /* this is domain 0 */

#define XEN_LEGACY_MAX_VCPUS 32
#define MAX_GUEST_CMDLINE    1024

#ifndef __ASSEMBLER__

typedef uint16_t domid_t;

/* One validated page-table write (mmu_update). */
struct mmu_update {
    uint64_t ptr;   /* machine address of the PTE, command in bits 0-1 */
    uint64_t val;   /* new contents */
};
typedef struct mmu_update mmu_update_t;

/* One extended MMU command (mmuext_op). */
struct mmuext_op {
    unsigned int cmd;
    union {
        xen_pfn_t     mfn;          /* PIN_*, UNPIN_TABLE, NEW_BASEPTR, CLEAR/COPY_PAGE */
        unsigned long linear_addr;  /* INVLPG_*, SET_LDT */
    } arg1;
    union {
        unsigned int nr_ents;       /* SET_LDT */
        const void  *vcpumask;      /* TLB_FLUSH_MULTI, INVLPG_MULTI */
        xen_pfn_t    src_mfn;       /* COPY_PAGE */
    } arg2;
};
typedef struct mmuext_op mmuext_op_t;

/* One element of a multicall batch: several hypercalls per trap. */
struct multicall_entry {
    xen_ulong_t op;
    xen_ulong_t result;
    xen_ulong_t args[6];
};
typedef struct multicall_entry multicall_entry_t;

/*
 * Time as Xen publishes it per vCPU (paper §3.3.2). version is odd while
 * Xen rewrites the record: read it before and after, and retry on change.
 */
struct vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;     /* TSC when system_time was sampled */
    uint64_t system_time;       /* ns since boot at tsc_timestamp */
    uint32_t tsc_to_system_mul; /* 32.32 fixed-point ns per (shifted) tick */
    int8_t   tsc_shift;
    uint8_t  flags;
    uint8_t  pad1[2];
};
typedef struct vcpu_time_info vcpu_time_info_t;

/*
 * Per-vCPU part of shared_info. evtchn_upcall_mask is the guest's virtual
 * interrupt flag (paper §3.1): while it is 1 Xen marks events pending but
 * does not call the guest's event callback.
 */
struct vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    xen_ulong_t evtchn_pending_sel;     /* which word of evtchn_pending to scan */
    struct arch_vcpu_info arch;
    struct vcpu_time_info time;
};
typedef struct vcpu_info vcpu_info_t;

/*
 * The page Xen shares with each domain. start_info.shared_info gives its
 * MACHINE address: the guest maps it itself (map_shared_info()).
 */
struct shared_info {
    struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
    xen_ulong_t evtchn_pending[sizeof(xen_ulong_t) * 8];
    xen_ulong_t evtchn_mask[sizeof(xen_ulong_t) * 8];
    uint32_t wc_version;    /* wall clock: odd while being updated */
    uint32_t wc_sec;        /* seconds since 1970 at system time 0 */
    uint32_t wc_nsec;
    struct arch_shared_info arch;
};
typedef struct shared_info shared_info_t;

/*
 * What the domain builder tells the new kernel; its virtual address is in
 * ESI at the entry point. Everything is in the domain's own terms
 * (pseudo-physical or virtual) except the machine frames named *_mfn and
 * shared_info.
 */
struct start_info {
    char magic[32];             /* "xen-<version>-<platform>" */
    unsigned long nr_pages;     /* total pages allocated to this domain */
    unsigned long shared_info;  /* MACHINE address of the shared_info page */
    uint32_t flags;             /* SIF_* */
    xen_pfn_t store_mfn;        /* xenstore ring page */
    uint32_t store_evtchn;
    union {
        struct {
            xen_pfn_t mfn;      /* console ring page */
            uint32_t  evtchn;
        } domU;
        struct {
            uint32_t info_off;  /* dom0: offset of console_info in start_info */
            uint32_t info_size;
        } dom0;
    } console;
    unsigned long pt_base;      /* VA of the bootstrap page tables (the L3) */
    unsigned long nr_pt_frames; /* number of bootstrap page-table frames */
    unsigned long mfn_list;     /* VA of the pfn -> mfn array */
    unsigned long mod_start;    /* VA of a pre-loaded module (initrd) */
    unsigned long mod_len;
    int8_t cmd_line[MAX_GUEST_CMDLINE];
    unsigned long first_p2m_pfn;
    unsigned long nr_p2m_frames;
};
typedef struct start_info start_info_t;

_Static_assert(sizeof(struct mmu_update) == 16, "mmu_update");
_Static_assert(sizeof(struct mmuext_op) == 12, "mmuext_op");
_Static_assert(offsetof(struct mmuext_op, arg2) == 8, "mmuext_op.arg2");
_Static_assert(sizeof(struct multicall_entry) == 32, "multicall_entry");

_Static_assert(sizeof(struct vcpu_time_info) == 32, "vcpu_time_info");
_Static_assert(offsetof(struct vcpu_time_info, tsc_timestamp) == 8, "tsc_timestamp");
_Static_assert(offsetof(struct vcpu_time_info, system_time) == 16, "system_time");
_Static_assert(offsetof(struct vcpu_time_info, tsc_to_system_mul) == 24, "tsc_to_system_mul");
_Static_assert(offsetof(struct vcpu_time_info, tsc_shift) == 28, "tsc_shift");
_Static_assert(offsetof(struct vcpu_time_info, flags) == 29, "flags");

_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info");
_Static_assert(offsetof(struct vcpu_info, evtchn_upcall_pending) == 0, "upcall_pending");
_Static_assert(offsetof(struct vcpu_info, evtchn_upcall_mask) == 1, "upcall_mask");
_Static_assert(offsetof(struct vcpu_info, evtchn_pending_sel) == 4, "pending_sel");
_Static_assert(offsetof(struct vcpu_info, arch) == 8, "vcpu_info.arch");
_Static_assert(offsetof(struct vcpu_info, arch.cr2) == 8, "vcpu_info.arch.cr2");
_Static_assert(offsetof(struct vcpu_info, time) == 32, "vcpu_info.time");

_Static_assert(offsetof(struct shared_info, vcpu_info) == 0, "vcpu_info[]");
_Static_assert(offsetof(struct shared_info, evtchn_pending) == 0x800, "evtchn_pending");
_Static_assert(offsetof(struct shared_info, evtchn_mask) == 0x880, "evtchn_mask");
_Static_assert(offsetof(struct shared_info, wc_version) == 0x900, "wc_version");
_Static_assert(offsetof(struct shared_info, wc_sec) == 0x904, "wc_sec");
_Static_assert(offsetof(struct shared_info, wc_nsec) == 0x908, "wc_nsec");
_Static_assert(offsetof(struct shared_info, arch) == 0x90C, "shared_info.arch");
_Static_assert(sizeof(struct shared_info) == 2344, "shared_info");

_Static_assert(offsetof(struct start_info, magic) == 0, "magic");
_Static_assert(offsetof(struct start_info, nr_pages) == 32, "nr_pages");
_Static_assert(offsetof(struct start_info, shared_info) == 36, "shared_info");
_Static_assert(offsetof(struct start_info, flags) == 40, "flags");
_Static_assert(offsetof(struct start_info, store_mfn) == 44, "store_mfn");
_Static_assert(offsetof(struct start_info, store_evtchn) == 48, "store_evtchn");
_Static_assert(offsetof(struct start_info, console.domU.mfn) == 52, "console.domU.mfn");
_Static_assert(offsetof(struct start_info, console.domU.evtchn) == 56, "console.domU.evtchn");
_Static_assert(offsetof(struct start_info, pt_base) == 60, "pt_base");
_Static_assert(offsetof(struct start_info, nr_pt_frames) == 64, "nr_pt_frames");
_Static_assert(offsetof(struct start_info, mfn_list) == 68, "mfn_list");
_Static_assert(offsetof(struct start_info, mod_start) == 72, "mod_start");
_Static_assert(offsetof(struct start_info, mod_len) == 76, "mod_len");
_Static_assert(offsetof(struct start_info, cmd_line) == 80, "cmd_line");
_Static_assert(offsetof(struct start_info, first_p2m_pfn) == 1104, "first_p2m_pfn");
_Static_assert(offsetof(struct start_info, nr_p2m_frames) == 1108, "nr_p2m_frames");
_Static_assert(sizeof(struct start_info) == 1112, "start_info");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_XEN_H__ */
