/*
 * head.S — the first instructions of every xenlab guest, and the pages the
 * hypervisor fills in for it.
 *
 * The domain builder starts us at _start (XEN_ELFNOTE_ENTRY) in ring 1
 * with ESI = virtual address of start_info and events masked. We move to
 * a stack inside our own image, whose size we chose and whose pages stay
 * ours (the builder's bootstrap stack sits among the start-of-day pages a
 * kernel may later reuse), then hand start_info to C, as Mini-OS does.
 */
#include <xen/xen.h>
#include <xen/sched.h>

#define STACK_SIZE 16384

        .section .text.head, "ax"
        .globl _start
        .type _start, @function
_start:
        cld                             /* the C ABI assumes DF = 0 */
        movl $stack_top, %esp
        xorl %ebp, %ebp                 /* end of the frame-pointer chain */
        subl $12, %esp                  /* keep 16-byte alignment at the call */
        pushl %esi                      /* start_info_t *si */
        call start_kernel

        /*
         * start_kernel() must not return. If it does, report a crash
         * (SCHEDOP_shutdown with a struct sched_shutdown on the stack) and
         * keep asking: ring 1 cannot hlt.
         */
        pushl $SHUTDOWN_crash
1:      movl %esp, %ecx
        movl $SCHEDOP_shutdown, %ebx
        call hypercall_page + __HYPERVISOR_sched_op * 32
        jmp 1b
        .size _start, . - _start

/*
 * The hypercall page (XEN_ELFNOTE_HYPERCALL_PAGE): the domain builder
 * writes stub nr at offset nr * 32 (`mov $nr,%eax; int $0x82; ret`).
 * Until then it is all int3, so calling an unfilled stub traps (#BP)
 * instead of sliding through zeros.
 */
        .section .text.hypercall_page, "ax"
        .balign 4096
        .globl hypercall_page
        .type hypercall_page, @object
hypercall_page:
        .fill 4096, 1, 0xcc
        .size hypercall_page, 4096

/*
 * A page-aligned hole in the image for shared_info. start_info gives the
 * shared_info page as a MACHINE address; map_shared_info() points this
 * page's PTE at it with update_va_mapping (Mini-OS does the same). The
 * pseudo-physical frame that backed it simply stays unmapped.
 */
        .section .bss.page_aligned, "aw", @nobits
        .balign 4096
        .globl shared_info
        .type shared_info, @object
shared_info:
        .skip 4096
        .size shared_info, 4096

/* The kernel stack: 16 KiB in .bss, so it is zeroed and costs no file space. */
        .section .bss.stack, "aw", @nobits
        .balign 16
stack:
        .skip STACK_SIZE
stack_top:
