/*
 * entry.S — the two pieces of badcalls that must be assembly: a ring-3
 * function that attempts a hypercall, and the #GP handler that catches it.
 */
#include <xen/xen.h>

        .text
/* Runs in ring 3: a hypercall from user mode must not reach Xen. */
        .globl user_hypercall
user_hypercall:
        movl $__HYPERVISOR_xen_version, %eax
        xorl %ebx, %ebx
        int $0x82
        jmp .                           /* never reached: the int faults */

/*
 * #GP handler.  Entered from ring 3, so Xen switched to the stack named by
 * stack_switch and pushed: error code, EIP, CS, EFLAGS, ESP, SS.  Record
 * them and continue in C (never returning to ring 3).
 */
        .globl gp_entry
gp_entry:
        movl %esp, %eax
        pushl %eax
        call ring3_gp                   /* void ring3_gp(unsigned long *frame) */
        jmp .
