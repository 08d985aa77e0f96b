/*
 * entry.S — the ring-3 half of the system-call demonstration, and the two
 * handlers named in the trap table. Both are entered from ring 3, so Xen
 * switched to the stack named by stack_switch and pushed
 *
 *     [error code]  EIP  CS  EFLAGS  ESP  SS
 *
 * The handlers reload the data segments (ring 3 may have left them null)
 * and pass the frame to C.
 */
#include <xen/xen.h>

        .text
/* Runs in ring 3: a system call the trap table allows (DPL 3), then one it does not. */
        .globl user_code
user_code:
        movl $42, %eax
        int $0x80                       /* honoured: bounced to syscall_entry in ring 1 */
        movl $43, %eax
        int $0x81                       /* no entry: the CPU (here, Xen) raises #GP */
        jmp .

        .globl syscall_entry
syscall_entry:                          /* vector 0x80: no error code */
        pushal
        movl $FLAT_RING1_DS, %ecx
        movl %ecx, %ds
        movl %ecx, %es
        leal 32(%esp), %ecx             /* the bounce frame, above the saved registers */
        pushl %ecx
        pushl %eax                      /* the "system call number" */
        call on_syscall                 /* void on_syscall(long nr, unsigned long *frame) */
        addl $8, %esp
        popal
        iret                            /* back to ring 3 */

        .globl gp_entry
gp_entry:                               /* #GP: error code first */
        movl $FLAT_RING1_DS, %ecx
        movl %ecx, %ds
        movl %ecx, %es
        movl %esp, %ecx
        pushl %ecx
        pushl %eax
        call on_ring3_gp                /* void on_ring3_gp(long eax, unsigned long *frame) */
        jmp .
