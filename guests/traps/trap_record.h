/*
 * trap_record.h — what a handler in entry.S saw, shared between the
 * assembly (which needs byte offsets) and main.c (which needs the struct).
 */
#ifndef __TRAP_RECORD_H__
#define __TRAP_RECORD_H__

#define TR_VECTOR   0
#define TR_ERROR    4
#define TR_EIP      8
#define TR_CS      12
#define TR_EFLAGS  16
#define TR_CR2     20
#define TR_COUNT   24

/* offsetof(shared_info_t, vcpu_info[0].arch.cr2): where Xen puts the #PF address. */
#define VCPU0_CR2   8

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <xen/xen.h>

struct trap_record {
    unsigned long vector;   /* which handler ran */
    unsigned long error;    /* error code from the frame, 0 if the vector has none */
    unsigned long eip;      /* saved EIP: Xen reports the faulting instruction */
    unsigned long cs;       /* saved CS slot: selector | saved upcall mask << 16 */
    unsigned long eflags;
    unsigned long cr2;      /* #PF only: vcpu_info[0].arch.cr2 at handler entry */
    unsigned long count;    /* handler entries since the record was cleared */
};

_Static_assert(offsetof(struct trap_record, error) == TR_ERROR, "TR_ERROR");
_Static_assert(offsetof(struct trap_record, eip) == TR_EIP, "TR_EIP");
_Static_assert(offsetof(struct trap_record, cs) == TR_CS, "TR_CS");
_Static_assert(offsetof(struct trap_record, eflags) == TR_EFLAGS, "TR_EFLAGS");
_Static_assert(offsetof(struct trap_record, cr2) == TR_CR2, "TR_CR2");
_Static_assert(offsetof(struct trap_record, count) == TR_COUNT, "TR_COUNT");
_Static_assert(offsetof(shared_info_t, vcpu_info[0].arch.cr2) == VCPU0_CR2, "VCPU0_CR2");

/* Written by the handlers in entry.S (main.c's asm statements clobber "memory"). */
extern struct trap_record trap_record;
/* Where a handler resumes: set by each test before it faults. */
extern unsigned long trap_resume_eip;

/* Handler entry points for the trap table (entry.S). */
void divide_error(void);
void invalid_op(void);
void general_protection(void);
void page_fault(void);

#endif /* !__ASSEMBLER__ */
#endif /* __TRAP_RECORD_H__ */
