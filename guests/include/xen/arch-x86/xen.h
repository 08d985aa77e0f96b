/*
 * xen/arch-x86/xen.h — x86 parts of the PV ABI: trap table entries and the
 * architecture-specific tails of vcpu_info and shared_info
 * (xen-pv-abi.md "CPU hypercalls" and "Structures").
 */
#ifndef __XEN_PUBLIC_ARCH_X86_XEN_H__
#define __XEN_PUBLIC_ARCH_X86_XEN_H__

#include <xen/arch-x86/xen-x86_32.h>

/* trap_info.flags: bits 0-1 are the DPL allowed to raise the vector with
 * `int n`; bit 2 asks Xen to mask events on entry ("interrupt gate"). */
#define TI_GET_DPL(_ti)      ((_ti)->flags & 3)
#define TI_GET_IF(_ti)       ((_ti)->flags & 4)
#define TI_SET_DPL(_ti, _d)  ((_ti)->flags = ((_ti)->flags & ~3) | (_d))
#define TI_SET_IF(_ti, _i)   ((_ti)->flags = ((_ti)->flags & ~4) | ((!!(_i)) << 2))

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

typedef unsigned long xen_pfn_t;
typedef unsigned long xen_ulong_t;

/*
 * One entry of the virtual IDT handed to HYPERVISOR_set_trap_table(); the
 * table ends with an entry whose address is 0. Xen refuses a handler whose
 * code selector has RPL 0 (paper §2.1.2: the only check at registration).
 */
struct trap_info {
    uint8_t       vector;   /* exception vector */
    uint8_t       flags;    /* 0-1: privilege level; 2: clear event enable */
    uint16_t      cs;       /* code selector, normally FLAT_RING1_CS */
    unsigned long address;  /* handler entry point */
};
typedef struct trap_info trap_info_t;

/* Per-vCPU architectural state that Xen shares with the guest. The guest
 * cannot read %cr2 in ring 1, so Xen copies the #PF address here before it
 * bounces the fault (paper Table 1, "exceptions"). */
struct arch_vcpu_info {
    unsigned long cr2;
    unsigned long pad[5];
};
typedef struct arch_vcpu_info arch_vcpu_info_t;

struct arch_shared_info {
    unsigned long max_pfn;                     /* max pfn in the p2m */
    xen_pfn_t     pfn_to_mfn_frame_list_list;  /* for save/restore */
    unsigned long nmi_reason;
    unsigned long p2m_cr3;
    unsigned long p2m_vaddr;
    unsigned long p2m_generation;
    uint32_t      wc_sec_hi;                   /* i386 only */
};
typedef struct arch_shared_info arch_shared_info_t;

_Static_assert(sizeof(struct trap_info) == 8, "trap_info is 8 bytes");
_Static_assert(offsetof(struct trap_info, cs) == 2, "trap_info.cs");
_Static_assert(offsetof(struct trap_info, address) == 4, "trap_info.address");
_Static_assert(sizeof(struct arch_vcpu_info) == 24, "arch_vcpu_info");
_Static_assert(sizeof(struct arch_shared_info) == 28, "arch_shared_info");

/* CR3 value for a top-level table frame (PAE: bits 32+ folded low). */
#define xen_pfn_to_cr3(pfn) (((unsigned)(pfn) << 12) | ((unsigned)(pfn) >> 20))
#define xen_cr3_to_pfn(cr3) (((unsigned)(cr3) >> 12) | ((unsigned)(cr3) << 20))

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_ARCH_X86_XEN_H__ */
