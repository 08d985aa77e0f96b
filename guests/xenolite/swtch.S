/*
 * swtch.S — switch kernel threads (xv6's swtch).
 *
 *   void swtch(struct context **old, struct context *new);
 *
 * Push the callee-saved registers, save the stack pointer in *old (which
 * is now a struct context), load new as the stack pointer, pop its
 * registers and return to its saved eip. Nothing here concerns Xen: the
 * address-space and kernel-stack switches are the scheduler's hypercalls.
 */
        .text
        .globl swtch
swtch:
        movl 4(%esp), %eax
        movl 8(%esp), %edx

        pushl %ebp
        pushl %ebx
        pushl %esi
        pushl %edi

        movl %esp, (%eax)
        movl %edx, %esp

        popl %edi
        popl %esi
        popl %ebx
        popl %ebp
        ret
