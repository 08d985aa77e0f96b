/*
 * arch/xen/entry.S — the handlers named in the trap table, and the return.
 *
 * Xen reflects a trap by building a bounce frame on the ring-1 stack and
 * jumping here (paper §2.1.2). From ring 3 the stack is the one given to
 * stack_switch (the current process's kernel stack) and the frame is
 *
 *     [error code]  EIP  CS  EFLAGS  ESP  SS
 *
 * (from ring 1 there is no ESP/SS; only #GP and #PF carry an error code).
 * Each stub makes the frames alike — a 0 for a missing error code, then
 * the vector — and alltraps saves the rest into a struct trapframe.
 */
#include <xen/xen.h>

#define TRAP(name, vector)      \
        .globl name;            \
name:   pushl $0;               \
        pushl $vector;          \
        jmp alltraps

#define TRAP_ERRCODE(name, vector) \
        .globl name;            \
name:   pushl $vector;          \
        jmp alltraps

        .text
TRAP(divide_error, 0)
TRAP(invalid_op, 6)
TRAP_ERRCODE(general_protection, 13)
TRAP_ERRCODE(page_fault, 14)
TRAP(system_call, 0x80)

alltraps:
        cld
        pushl %ds
        pushl %es
        pushal
        movl $FLAT_RING1_DS, %eax
        movw %ax, %ds
        movw %ax, %es
        pushl %esp                      /* struct trapframe *tf */
        call trap
        addl $4, %esp

/*
 * Return from a trap, or start a new process (its first swtch "returns"
 * here). A plain iret works from ring 1 to ring 1 or 3: it ignores the
 * event mask Xen put in CS bits 16-23, and ring 1 needs no hypercall to
 * leave to an outer ring.
 */
        .globl trapret
trapret:
        popal
        popl %es
        popl %ds
        addl $8, %esp                   /* vector, error code */
        iret
