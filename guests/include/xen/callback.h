/*
 * xen/callback.h — callback_op(cmd, arg): where Xen should enter the guest
 * for events, failsafe returns and fast system calls.
 */
#ifndef __XEN_PUBLIC_CALLBACK_H__
#define __XEN_PUBLIC_CALLBACK_H__

#define CALLBACKTYPE_event      0   /* event upcall (paper §3.1) */
#define CALLBACKTYPE_failsafe   1   /* a segment reload on return failed */
#define CALLBACKTYPE_syscall    2
#define CALLBACKTYPE_nmi        4
#define CALLBACKTYPE_sysenter   5
#define CALLBACKTYPE_syscall32  7

#define CALLBACKF_mask_events   1   /* mask events on entry */

#define CALLBACKOP_register     0
#define CALLBACKOP_unregister   1

#ifndef __ASSEMBLER__
#include <stdint.h>

typedef struct {
    unsigned long cs;
    unsigned long eip;
} xen_callback_t;

struct callback_register {
    uint16_t type;          /* CALLBACKTYPE_* */
    uint16_t flags;         /* CALLBACKF_* */
    xen_callback_t address;
};

struct callback_unregister {
    uint16_t type;
    uint16_t _unused;
};

_Static_assert(sizeof(struct callback_register) == 12, "callback_register");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_CALLBACK_H__ */
