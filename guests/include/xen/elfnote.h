/*
 * xen/elfnote.h — the ELF notes through which a kernel describes itself to
 * Xen's domain builder (name "Xen"; xen-pv-abi.md "Structures").
 *
 * String notes hold a NUL-terminated string; numeric notes hold a 4-byte
 * little-endian value on this 32-bit ABI.
 */
#ifndef __XEN_PUBLIC_ELFNOTE_H__
#define __XEN_PUBLIC_ELFNOTE_H__

#define XEN_ELFNOTE_INFO             0
#define XEN_ELFNOTE_ENTRY            1  /* numeric: virtual entry point */
#define XEN_ELFNOTE_HYPERCALL_PAGE   2  /* numeric: VA of the page Xen fills */
#define XEN_ELFNOTE_VIRT_BASE        3  /* numeric: VA where the image starts */
#define XEN_ELFNOTE_PADDR_OFFSET     4  /* numeric: p_paddr - PADDR_OFFSET = pseudo-phys */
#define XEN_ELFNOTE_XEN_VERSION      5  /* string: "xen-3.0" */
#define XEN_ELFNOTE_GUEST_OS         6  /* string */
#define XEN_ELFNOTE_GUEST_VERSION    7  /* string */
#define XEN_ELFNOTE_LOADER           8  /* string: "generic" */
#define XEN_ELFNOTE_PAE_MODE         9  /* string: "yes" for a PAE kernel */
#define XEN_ELFNOTE_FEATURES        10  /* string: "a|!b", '!' = required */
#define XEN_ELFNOTE_BSD_SYMTAB      11
#define XEN_ELFNOTE_HV_START_LOW    12
#define XEN_ELFNOTE_L1_MFN_VALID    13
#define XEN_ELFNOTE_SUSPEND_CANCEL  14

#ifdef __ASSEMBLER__
/*
 * ELFNOTE(Xen, type, desc) emits one note into section .note.Xen:
 *   namesz, descsz, type (4 bytes each), "Xen\0", desc padded to 4.
 * desc is one or more assembler directives, e.g. `.asciz "yes"` or
 * `.long _start`. The labels 1-4 are local to each expansion.
 */
#define ELFNOTE(name, type, desc)                   \
    .pushsection .note.name, "a", @note;            \
    .balign 4;                                      \
    .long 2f - 1f;          /* namesz */            \
    .long 4f - 3f;          /* descsz */            \
    .long type;                                     \
1:  .asciz #name;                                   \
2:  .balign 4;                                      \
3:  desc;                                           \
4:  .balign 4;                                      \
    .popsection
#endif

#endif /* __XEN_PUBLIC_ELFNOTE_H__ */
