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

/*
 * The event callback (set_callbacks, arch/xen/timer.c): Xen bounces an
 * upcall exactly like an exception without an error code, on the process's
 * kernel stack if it interrupted ring 3, with events masked. It becomes a
 * trap like the others, vector T_EVENT (0x100: no CPU vector), so trap()
 * can preempt the process it interrupted.
 */
TRAP(event_callback, 0x100)

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
 *
 * The virtual interrupt flag is not in EFLAGS, so iret does not restore
 * it: restore it here, from CS bits 16-23 (the mask when the trap came; 0
 * for ring 3, which runs with events enabled, and for a new process's
 * frame). The kernel itself runs masked; once events are set up
 * (xen_upcall_mask, arch/xen/timer.c) it unmasks only on this way out. An
 * upcall in the few instructions between the unmask and the iret lands on
 * this stack in ring 1; trap() then only handles the events, and any
 * preemption it asks for waits for the next entry from ring 3.
 */
        .globl trapret
trapret:
        movl xen_upcall_mask, %eax      /* popal reloads %eax */
        testl %eax, %eax
        jz 1f
        testl $0x00ff0000, 52(%esp)     /* tf->cs: the saved mask */
        jnz 1f
        movb $0, (%eax)
1:      popal
        popl %es
        popl %ds
        addl $8, %esp                   /* vector, error code */
        iret
