/*
 * entry.S — exception handlers named in the trap table.
 *
 * Xen reflects a guest exception by building a "bounce frame" on the
 * ring-1 stack and jumping to the handler (xen-pv-abi.md "CPU hypercalls";
 * paper §2.1.2). At handler entry, from ring 1:
 *
 *     [esp]    error code      (only vectors 8, 10-14, 17)
 *     EIP      the faulting instruction
 *     CS       selector in bits 0-15, saved evtchn_upcall_mask in 16-23
 *     EFLAGS
 *
 * (plus ESP and SS when the fault came from ring 3). Vectors without an
 * error code push a 0 so every handler reaches trap_common with the same
 * layout. trap_common saves the frame, replaces the saved EIP with
 * trap_resume_eip (re-running the faulting instruction would only fault
 * again), drops vector and error code, and returns with iret: a
 * same-ring iret needs no hypercall, and the CPU ignores CS bits 16-31.
 */
#include "trap_record.h"

        .text

        .globl divide_error
divide_error:                   /* #DE, vector 0: no error code */
        pushl $0
        pushl $0
        jmp trap_common

        .globl invalid_op
invalid_op:                     /* #UD, vector 6: no error code */
        pushl $0
        pushl $6
        jmp trap_common

        .globl general_protection
general_protection:             /* #GP, vector 13: error code pushed by Xen */
        pushl $13
        jmp trap_common

        .globl page_fault
page_fault:                     /* #PF, vector 14: error code pushed by Xen */
        /* Ring 1 cannot read %cr2; Xen left the address in shared_info.
         * Copy it first, before anything else could fault and replace it. */
        pushl %eax
        movl shared_info + VCPU0_CR2, %eax
        movl %eax, trap_record + TR_CR2
        popl %eax
        pushl $14
        jmp trap_common

trap_common:
        pushl %eax
        /* Now: eax, vector, error, eip, cs, eflags. */
        movl 4(%esp), %eax
        movl %eax, trap_record + TR_VECTOR
        movl 8(%esp), %eax
        movl %eax, trap_record + TR_ERROR
        movl 12(%esp), %eax
        movl %eax, trap_record + TR_EIP
        movl 16(%esp), %eax
        movl %eax, trap_record + TR_CS
        movl 20(%esp), %eax
        movl %eax, trap_record + TR_EFLAGS
        incl trap_record + TR_COUNT

        movl trap_resume_eip, %eax
        movl %eax, 12(%esp)             /* return past the faulting instruction */
        popl %eax
        addl $8, %esp                   /* vector, error code */
        iret
