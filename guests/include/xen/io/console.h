/*
 * xen/io/console.h — the PV console page (start_info.console.domU.mfn):
 * two byte rings with free-running indices. The guest writes out[],
 * advances out_prod, then notifies console.domU.evtchn (paper §3.2).
 */
#ifndef __XEN_PUBLIC_IO_CONSOLE_H__
#define __XEN_PUBLIC_IO_CONSOLE_H__

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

typedef uint32_t XENCONS_RING_IDX;

/* Indices run freely; mask them by the ring size to index the buffer. */
#define MASK_XENCONS_IDX(idx, ring) ((idx) & (sizeof(ring) - 1))

struct xencons_interface {
    char in[1024];              /* backend -> guest (keyboard) */
    char out[2048];             /* guest -> backend (screen) */
    XENCONS_RING_IDX in_cons, in_prod;
    XENCONS_RING_IDX out_cons, out_prod;
};

_Static_assert(offsetof(struct xencons_interface, in) == 0, "in");
_Static_assert(offsetof(struct xencons_interface, out) == 0x400, "out");
_Static_assert(offsetof(struct xencons_interface, in_cons) == 0xC00, "in_cons");
_Static_assert(offsetof(struct xencons_interface, in_prod) == 0xC04, "in_prod");
_Static_assert(offsetof(struct xencons_interface, out_cons) == 0xC08, "out_cons");
_Static_assert(offsetof(struct xencons_interface, out_prod) == 0xC0C, "out_prod");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_IO_CONSOLE_H__ */
