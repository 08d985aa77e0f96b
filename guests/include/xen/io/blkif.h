/*
 * xen/io/blkif.h — the block device ring (Xen's public io/blkif.h).
 *
 * The front end queues blkif_requests: read or write up to 11 segments,
 * each a granted page and a range of 512-byte sectors in it; the back end
 * answers each with a blkif_response carrying the request's id, so it may
 * complete them out of order (paper §3.2: the back end may reorder
 * requests for the disk's sake). On x86_32 a uint64_t inside a struct is
 * 4-byte aligned: the request is 108 bytes and 32 fit in a page.
 */
#ifndef __XEN_PUBLIC_IO_BLKIF_H__
#define __XEN_PUBLIC_IO_BLKIF_H__

/* Operations (blkif_request.operation). */
#define BLKIF_OP_READ               0
#define BLKIF_OP_WRITE              1
#define BLKIF_OP_WRITE_BARRIER      2   /* only with "feature-barrier" */
#define BLKIF_OP_FLUSH_DISKCACHE    3   /* only with "feature-flush-cache" */

/* Status (blkif_response.status). */
#define BLKIF_RSP_EOPNOTSUPP       -2   /* e.g. a barrier the disk cannot do */
#define BLKIF_RSP_ERROR            -1
#define BLKIF_RSP_OKAY              0

/*
 * Scatter-gather segments per request. Xen's comment says 11 was chosen
 * so the ring fits its page with the indices in it; with today's layout
 * (64-byte header, a power of two of 108-byte entries) the ring is 32
 * entries, 3456 of the 4032 bytes.
 */
#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>
#include <xen/grant_table.h>
#include <xen/io/ring.h>

typedef uint16_t blkif_vdev_t;
typedef uint64_t blkif_sector_t;

struct blkif_request_segment {
    grant_ref_t gref;           /* the granted page to read into / write from */
    uint8_t first_sect;         /* first 512-byte sector in it (inclusive) */
    uint8_t last_sect;          /* last 512-byte sector in it (inclusive) */
};

struct blkif_request {
    uint8_t operation;          /* BLKIF_OP_* */
    uint8_t nr_segments;
    blkif_vdev_t handle;        /* which virtual disk */
    uint64_t id;                /* the guest's own tag, echoed in the response */
    blkif_sector_t sector_number;
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
typedef struct blkif_request blkif_request_t;

struct blkif_response {
    uint64_t id;                /* from the request */
    uint8_t operation;          /* from the request */
    int16_t status;             /* BLKIF_RSP_* */
};
typedef struct blkif_response blkif_response_t;

DEFINE_RING_TYPES(blkif, struct blkif_request, struct blkif_response);

_Static_assert(sizeof(struct blkif_request_segment) == 8, "blkif_request_segment");
_Static_assert(offsetof(struct blkif_request_segment, gref) == 0, "gref");
_Static_assert(offsetof(struct blkif_request_segment, first_sect) == 4, "first_sect");
_Static_assert(offsetof(struct blkif_request_segment, last_sect) == 5, "last_sect");
_Static_assert(sizeof(struct blkif_request) == 108, "blkif_request");
_Static_assert(offsetof(struct blkif_request, operation) == 0, "operation");
_Static_assert(offsetof(struct blkif_request, nr_segments) == 1, "nr_segments");
_Static_assert(offsetof(struct blkif_request, handle) == 2, "handle");
_Static_assert(offsetof(struct blkif_request, id) == 4, "id: 4-byte aligned on x86_32");
_Static_assert(offsetof(struct blkif_request, sector_number) == 12, "sector_number");
_Static_assert(offsetof(struct blkif_request, seg) == 20, "seg");
_Static_assert(sizeof(struct blkif_response) == 12, "blkif_response");
_Static_assert(offsetof(struct blkif_response, id) == 0, "id");
_Static_assert(offsetof(struct blkif_response, operation) == 8, "operation");
_Static_assert(offsetof(struct blkif_response, status) == 10, "status");
_Static_assert(offsetof(struct blkif_sring, req_prod) == 0, "req_prod");
_Static_assert(offsetof(struct blkif_sring, req_event) == 4, "req_event");
_Static_assert(offsetof(struct blkif_sring, rsp_prod) == 8, "rsp_prod");
_Static_assert(offsetof(struct blkif_sring, rsp_event) == 12, "rsp_event");
_Static_assert(offsetof(struct blkif_sring, pvt) == 16, "pvt");
_Static_assert(offsetof(struct blkif_sring, ring) == 64, "ring");
_Static_assert(__CONST_RING_SIZE(blkif, 4096) == 32, "32 block requests in a page");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_IO_BLKIF_H__ */
