/*
 * xen/arch-x86/xen-x86_32.h — the 32-bit PAE guest's view of segments and
 * of the hypervisor's slice of the address space (Xen's public header of
 * the same name; xen-pv-abi.md "Selectors and address space").
 *
 * Included from both C and assembly, so it holds plain numbers only.
 */
#ifndef __XEN_PUBLIC_ARCH_X86_XEN_X86_32_H__
#define __XEN_PUBLIC_ARCH_X86_XEN_X86_32_H__

/*
 * Flat segments that Xen keeps in the reserved part of every GDT (entries
 * from 0x1C00 = page 14). The guest kernel runs in ring 1 (RPL 1) and its
 * applications in ring 3, so a guest never needs a GDT of its own to start.
 */
#define FLAT_RING1_CS 0xe019    /* GDT index 0x1c03, RPL 1 */
#define FLAT_RING1_DS 0xe021    /* GDT index 0x1c04, RPL 1 */
#define FLAT_RING1_SS 0xe021
#define FLAT_RING3_CS 0xe02b    /* GDT index 0x1c05, RPL 3 */
#define FLAT_RING3_DS 0xe033    /* GDT index 0x1c06, RPL 3 */
#define FLAT_RING3_SS 0xe033

#define FLAT_KERNEL_CS FLAT_RING1_CS
#define FLAT_KERNEL_DS FLAT_RING1_DS
#define FLAT_KERNEL_SS FLAT_RING1_SS
#define FLAT_USER_CS   FLAT_RING3_CS
#define FLAT_USER_DS   FLAT_RING3_DS
#define FLAT_USER_SS   FLAT_RING3_SS

/*
 * The hypervisor hole (paper §2.1.1): Xen lives at the top of every
 * address space so that a hypercall needs no TLB flush. With PAE it starts
 * at 0xF5800000; the first 16 MiB of it is the read-only machine-to-phys
 * table (M2P), 4 bytes per machine frame.
 */
#define HYPERVISOR_VIRT_START  0xF5800000
#define MACH2PHYS_VIRT_START   0xF5800000
#define MACH2PHYS_VIRT_END     0xF6800000
#define MACH2PHYS_NR_ENTRIES   ((MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) >> 2)

#endif /* __XEN_PUBLIC_ARCH_X86_XEN_X86_32_H__ */
