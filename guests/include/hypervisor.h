/*
 * hypervisor.h — what every guest gets from guests/lib at start of day:
 * the entry contract, the shared_info mapping and a clean way out.
 *
 * Start of day (the domain builder's promise, xen-pv-abi.md): the image is
 * loaded at its link addresses (0xC0000000 up), .bss is zero, ESI holds
 * the VA of start_info, and execution starts at _start (lib/head.S) in
 * ring 1 with CS = FLAT_RING1_CS, DS = ES = SS = FLAT_RING1_DS and events
 * masked. head.S switches to its own stack and calls start_kernel().
 */
#ifndef __HYPERVISOR_H__
#define __HYPERVISOR_H__

#include <xen/xen.h>
#include <xen/sched.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))

/* PAE PTE bits used when mapping a frame. */
#define _PAGE_PRESENT  0x001
#define _PAGE_RW       0x002
#define _PAGE_USER     0x004

/* Each guest defines this; head.S calls it with the start_info pointer. */
void start_kernel(start_info_t *si);

/*
 * The page-aligned page in the image (lib/head.S) whose mapping
 * map_shared_info() replaces with Xen's shared_info frame.
 */
extern char shared_info[PAGE_SIZE];

/* Valid after a successful map_shared_info(); NULL before. */
extern shared_info_t *HYPERVISOR_shared_info;

/* Map Xen's shared_info page over `shared_info`: 0 or -errno. */
int map_shared_info(const start_info_t *si);

/*
 * The virtual address of one of the domain's own frames in the start-of-day
 * 1:1 region (the image base plus its pseudo-physical address, read from
 * the M2P): how a guest finds the console and store pages start_info names.
 */
void *boot_mfn_to_virt(unsigned long mfn);

/* Ask Xen to end this domain (SHUTDOWN_*); never returns. */
void shutdown(unsigned int reason) __attribute__((noreturn));

#endif /* __HYPERVISOR_H__ */
