/*
 * hypervisor_callback.S — where Xen enters the guest to deliver events
 * (the event callback registered by init_events(), lib/events.c).
 *
 * Xen "upcalls" exactly as it bounces an exception without an error code
 * (xen-pv-abi.md "CPU hypercalls"), on the current ring-1 stack, or on the
 * stack_switch stack if the event interrupted ring 3:
 *
 *     EIP      where the event interrupted the guest
 *     CS       selector in bits 0-15, evtchn_upcall_mask as it was in 16-23
 *     EFLAGS
 *     [ESP, SS  only from ring 3]
 *
 * and sets evtchn_upcall_mask = 1, so this code starts with events masked.
 * It saves every register the interrupted code owned (the event arrived
 * between two of its instructions), builds a struct pt_regs (events.h),
 * and lets do_hypervisor_callback() handle the events and re-enable them
 * race-free before the iret. A same-ring iret needs no hypercall, and
 * the CPU ignores CS bits 16-31.
 */
#include <xen/xen.h>

        .text
        .globl hypervisor_callback
        .type hypervisor_callback, @function
hypervisor_callback:
        pushl %es
        pushl %ds
        pushl %eax
        pushl %ebp
        pushl %edi
        pushl %esi
        pushl %edx
        pushl %ecx
        pushl %ebx
        /* From ring 3 the data segments are the application's: use ours. */
        movl $FLAT_RING1_DS, %eax
        movl %eax, %ds
        movl %eax, %es
        cld                             /* the C ABI assumes DF = 0 */
        pushl %esp                      /* struct pt_regs * */
        call do_hypervisor_callback
        addl $4, %esp
        popl %ebx
        popl %ecx
        popl %edx
        popl %esi
        popl %edi
        popl %ebp
        popl %eax
        popl %ds
        popl %es
        iret
        .size hypervisor_callback, . - hypervisor_callback

/*
 * Xen could not load a segment register the guest asked for when returning
 * to it; it enters here with the offending DS, ES, FS, GS pushed above
 * the usual frame. A real kernel would fix the selectors and retry; a
 * teaching guest reports it and crashes.
 */
        .globl failsafe_callback
        .type failsafe_callback, @function
failsafe_callback:
        movl $FLAT_RING1_DS, %eax
        movl %eax, %ds
        movl %eax, %es
        cld
        call do_failsafe_callback       /* does not return */
        .size failsafe_callback, . - failsafe_callback
