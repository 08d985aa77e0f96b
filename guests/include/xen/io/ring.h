/*
 * xen/io/ring.h — shared producer-consumer rings (paper §3.2: "asynchronous
 * I/O rings"), with the names and semantics of Xen's public io/ring.h.
 *
 * One page, shared by a front end (the guest driver: it produces requests
 * and consumes responses) and a back end (it consumes requests and produces
 * responses). A 64-byte header holds the two shared producer indices and
 * the two event thresholds; the rest is an array of entries, each a union
 * of one request and one response, as many as fit rounded down to a power
 * of two. Each end keeps its own consumer index and a private producer
 * index, so it can fill several slots and publish them with one store.
 *
 * Indices (RING_IDX) are free-running unsigned 32-bit counters: they are
 * never reduced, differences are taken modulo 2^32, and a slot is
 * idx & (RING_SIZE - 1). Responses reuse the slots of consumed requests;
 * each request carries an id its response echoes, so a back end may answer
 * out of order.
 *
 * Event thresholds (req_event, rsp_event): a producer notifies the other
 * end (an event channel) only if the consumer's threshold lies among the
 * entries it has just published, i.e. in (old, new]. A consumer that is
 * about to sleep sets the threshold to "the next one" and then looks once
 * more (RING_FINAL_CHECK_FOR_*), so a producer that published in between
 * is not missed. Setting it further ahead batches notifications.
 *
 * Usage (front end):
 *
 *     DEFINE_RING_TYPES(mytag, struct my_request, struct my_response);
 *     mytag_front_ring_t front;
 *     SHARED_RING_INIT((mytag_sring_t *)page);
 *     FRONT_RING_INIT(&front, (mytag_sring_t *)page, PAGE_SIZE);
 *
 * xenlab's ring.h is for a freestanding 32-bit x86 guest; the Python twin
 * is xenlab/xen/ring.py, the layout xenlab/abi/ring.py.
 */
#ifndef __XEN_PUBLIC_IO_RING_H__
#define __XEN_PUBLIC_IO_RING_H__

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

/*
 * Barriers. x86 keeps stores in order with stores and loads in order with
 * loads, so xen_wmb() and xen_rmb() need only stop the compiler; but a
 * later load may pass an earlier store, so xen_mb() (a store of an index
 * followed by a load of the other end's threshold) needs a locked
 * instruction. A guest may supply its own before including this header.
 */
#ifndef xen_mb
#define xen_mb()  __asm__ __volatile__("lock; addl $0,0(%%esp)" ::: "memory")
#endif
#ifndef xen_rmb
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#endif
#ifndef xen_wmb
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#endif

typedef unsigned int RING_IDX;

/* Round a 32-bit constant down to a power of two (a constant expression). */
#define __RD2(_x)  (((_x) & 0x00000002) ? 0x2 : ((_x) & 0x1))
#define __RD4(_x)  (((_x) & 0x0000000c) ? __RD2((_x) >> 2) << 2 : __RD2(_x))
#define __RD8(_x)  (((_x) & 0x000000f0) ? __RD4((_x) >> 4) << 4 : __RD4(_x))
#define __RD16(_x) (((_x) & 0x0000ff00) ? __RD8((_x) >> 8) << 8 : __RD8(_x))
#define __RD32(_x) (((_x) & 0xffff0000) ? __RD16((_x) >> 16) << 16 : __RD16(_x))

/* Entries of ring type _s in _sz bytes, from the type's tag ... */
#define __CONST_RING_SIZE(_s, _sz)                                          \
    (__RD32(((_sz) - offsetof(struct _s##_sring, ring)) /                   \
            sizeof(((struct _s##_sring *)0)->ring[0])))
/* ... or from a pointer to a shared ring. */
#define __RING_SIZE(_s, _sz)                                                \
    (__RD32(((_sz) - (long)(_s)->ring + (long)(_s)) / sizeof((_s)->ring[0])))

/*
 * DEFINE_RING_TYPES(tag, request type, response type) declares
 *   union tag_sring_entry, struct tag_sring (the shared page) and the two
 *   ends' private state, struct tag_front_ring and struct tag_back_ring,
 *   with typedefs tag_sring_t, tag_front_ring_t, tag_back_ring_t.
 */
#define DEFINE_RING_TYPES(__name, __req_t, __rsp_t)                         \
                                                                            \
union __name##_sring_entry {                                                \
    __req_t req;                                                            \
    __rsp_t rsp;                                                            \
};                                                                          \
                                                                            \
struct __name##_sring {                                                     \
    RING_IDX req_prod, req_event;                                           \
    RING_IDX rsp_prod, rsp_event;                                           \
    union {                                                                 \
        struct { uint8_t smartpoll_active; } netif;                         \
        struct { uint8_t msg; } tapif_user;                                 \
        uint8_t pvt_pad[4];                                                 \
    } pvt;                                                                  \
    uint8_t __pad[44];                                                      \
    union __name##_sring_entry ring[1]; /* as many as fit */                \
};                                                                          \
                                                                            \
struct __name##_front_ring {                                                \
    RING_IDX req_prod_pvt;      /* requests written, not all published */   \
    RING_IDX rsp_cons;          /* responses consumed */                    \
    unsigned int nr_ents;                                                   \
    struct __name##_sring *sring;                                           \
};                                                                          \
                                                                            \
struct __name##_back_ring {                                                 \
    RING_IDX rsp_prod_pvt;      /* responses written, not all published */  \
    RING_IDX req_cons;          /* requests consumed */                     \
    unsigned int nr_ents;                                                   \
    struct __name##_sring *sring;                                           \
};                                                                          \
                                                                            \
typedef struct __name##_sring __name##_sring_t;                             \
typedef struct __name##_front_ring __name##_front_ring_t;                   \
typedef struct __name##_back_ring __name##_back_ring_t

/* The front end initialises the shared page: no entries, notify on the first. */
#define SHARED_RING_INIT(_s) do {                                           \
    unsigned int __i;                                                       \
    (_s)->req_prod  = (_s)->rsp_prod  = 0;                                  \
    (_s)->req_event = (_s)->rsp_event = 1;                                  \
    for (__i = 0; __i < sizeof((_s)->pvt.pvt_pad); __i++)                   \
        (_s)->pvt.pvt_pad[__i] = 0;                                         \
    for (__i = 0; __i < sizeof((_s)->__pad); __i++)                         \
        (_s)->__pad[__i] = 0;                                               \
} while (0)

/* Attach one end's private state to a shared ring whose indices are all _i. */
#define FRONT_RING_ATTACH(_r, _s, _i, __size) do {                          \
    (_r)->req_prod_pvt = (_i);                                              \
    (_r)->rsp_cons = (_i);                                                  \
    (_r)->nr_ents = __RING_SIZE(_s, __size);                                \
    (_r)->sring = (_s);                                                     \
} while (0)

#define FRONT_RING_INIT(_r, _s, __size) FRONT_RING_ATTACH(_r, _s, 0, __size)

#define BACK_RING_ATTACH(_r, _s, _i, __size) do {                           \
    (_r)->rsp_prod_pvt = (_i);                                              \
    (_r)->req_cons = (_i);                                                  \
    (_r)->nr_ents = __RING_SIZE(_s, __size);                                \
    (_r)->sring = (_s);                                                     \
} while (0)

#define BACK_RING_INIT(_r, _s, __size) BACK_RING_ATTACH(_r, _s, 0, __size)

#define RING_SIZE(_r) ((_r)->nr_ents)

/* Front end only: slots not holding a request or an unconsumed response. */
#define RING_FREE_REQUESTS(_r)                                              \
    (RING_SIZE(_r) - ((_r)->req_prod_pvt - (_r)->rsp_cons))

#define RING_FULL(_r) (RING_FREE_REQUESTS(_r) == 0)

/* How many responses are waiting for the front end. */
#define RING_HAS_UNCONSUMED_RESPONSES(_r)                                   \
    ((_r)->sring->rsp_prod - (_r)->rsp_cons)

/*
 * How many requests are waiting for the back end: never more than the
 * slots it may still answer into, whatever req_prod the front end wrote.
 */
#define RING_HAS_UNCONSUMED_REQUESTS(_r) ({                                 \
    unsigned int __req = (_r)->sring->req_prod - (_r)->req_cons;            \
    unsigned int __rsp = RING_SIZE(_r) -                                    \
        ((_r)->req_cons - (_r)->rsp_prod_pvt);                              \
    __req < __rsp ? __req : __rsp;                                          \
})

#define RING_GET_REQUEST(_r, _idx)                                          \
    (&((_r)->sring->ring[(_idx) & (RING_SIZE(_r) - 1)].req))

#define RING_GET_RESPONSE(_r, _idx)                                         \
    (&((_r)->sring->ring[(_idx) & (RING_SIZE(_r) - 1)].rsp))

/*
 * Copy an entry out of the shared page before looking at it: the other end
 * can rewrite the slot at any moment, and must not be able to change a
 * request between the back end's check and its use.
 */
#define RING_COPY_REQUEST(_r, _idx, _req)                                   \
    (*(_req) = *(volatile __typeof__(_req))RING_GET_REQUEST(_r, _idx))

#define RING_COPY_RESPONSE(_r, _idx, _rsp)                                  \
    (*(_rsp) = *(volatile __typeof__(_rsp))RING_GET_RESPONSE(_r, _idx))

/* Back end loop bound: consuming _cons would leave no slot for its response. */
#define RING_REQUEST_CONS_OVERFLOW(_r, _cons)                               \
    (((_cons) - (_r)->rsp_prod_pvt) >= RING_SIZE(_r))

/* A front end that published more requests than there are slots is lying. */
#define RING_REQUEST_PROD_OVERFLOW(_r, _prod)                               \
    (((_prod) - (_r)->rsp_prod_pvt) > RING_SIZE(_r))

/* A back end that published more responses than there are slots is lying. */
#define RING_RESPONSE_PROD_OVERFLOW(_r, _prod)                              \
    (((_prod) - (_r)->rsp_cons) > RING_SIZE(_r))

/* Publish without asking whether to notify. */
#define RING_PUSH_REQUESTS(_r) do {                                         \
    xen_wmb(); /* the entries before the index that publishes them */      \
    (_r)->sring->req_prod = (_r)->req_prod_pvt;                             \
} while (0)

#define RING_PUSH_RESPONSES(_r) do {                                        \
    xen_wmb();                                                              \
    (_r)->sring->rsp_prod = (_r)->rsp_prod_pvt;                             \
} while (0)

/*
 * Publish, then set _notify if the consumer's threshold lies in (old, new]:
 * (new - event) < (new - old), unsigned, which holds across the wrap.
 * xen_mb(): the new index must be visible before the threshold is read, or
 * a consumer could set its threshold, see no work, sleep, and never be told.
 */
#define RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(_r, _notify) do {               \
    RING_IDX __old = (_r)->sring->req_prod;                                 \
    RING_IDX __new = (_r)->req_prod_pvt;                                    \
    xen_wmb();                                                              \
    (_r)->sring->req_prod = __new;                                          \
    xen_mb();                                                               \
    (_notify) = ((RING_IDX)(__new - (_r)->sring->req_event) <               \
                 (RING_IDX)(__new - __old));                                \
} while (0)

#define RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(_r, _notify) do {              \
    RING_IDX __old = (_r)->sring->rsp_prod;                                 \
    RING_IDX __new = (_r)->rsp_prod_pvt;                                    \
    xen_wmb();                                                              \
    (_r)->sring->rsp_prod = __new;                                          \
    xen_mb();                                                               \
    (_notify) = ((RING_IDX)(__new - (_r)->sring->rsp_event) <               \
                 (RING_IDX)(__new - __old));                                \
} while (0)

/*
 * Before sleeping: if nothing is waiting, ask to be notified of the next
 * entry (event = cons + 1), then look again — an entry published between
 * the first look and the threshold store would otherwise never notify.
 * _work_to_do is true if the caller must not sleep.
 */
#define RING_FINAL_CHECK_FOR_REQUESTS(_r, _work_to_do) do {                 \
    (_work_to_do) = RING_HAS_UNCONSUMED_REQUESTS(_r);                       \
    if (_work_to_do)                                                        \
        break;                                                              \
    (_r)->sring->req_event = (_r)->req_cons + 1;                            \
    xen_mb();                                                               \
    (_work_to_do) = RING_HAS_UNCONSUMED_REQUESTS(_r);                       \
} while (0)

#define RING_FINAL_CHECK_FOR_RESPONSES(_r, _work_to_do) do {                \
    (_work_to_do) = RING_HAS_UNCONSUMED_RESPONSES(_r);                      \
    if (_work_to_do)                                                        \
        break;                                                              \
    (_r)->sring->rsp_event = (_r)->rsp_cons + 1;                            \
    xen_mb();                                                               \
    (_work_to_do) = RING_HAS_UNCONSUMED_RESPONSES(_r);                      \
} while (0)

#endif /* !__ASSEMBLER__ */

#endif /* __XEN_PUBLIC_IO_RING_H__ */
