/*
 * xen/io/netif.h — the network rings (Xen's public io/netif.h).
 *
 * Two rings, a page each (paper §3.2): on TX the front end queues
 * packets (granted buffers) and the back end answers with a status; on RX
 * the front end queues empty buffers and the back end answers with where a
 * received packet landed and how big it is. TX slots are 12 bytes, RX
 * slots 8: 256 of either fit in a page.
 */
#ifndef __XEN_PUBLIC_IO_NETIF_H__
#define __XEN_PUBLIC_IO_NETIF_H__

/* netif_tx_request.flags */
#define _NETTXF_csum_blank     (0)
#define  NETTXF_csum_blank     (1U << _NETTXF_csum_blank)     /* checksum left to the back end */
#define _NETTXF_data_validated (1)
#define  NETTXF_data_validated (1U << _NETTXF_data_validated) /* checksum already checked */
#define _NETTXF_more_data      (2)
#define  NETTXF_more_data      (1U << _NETTXF_more_data)      /* the packet goes on in the next slot */
#define _NETTXF_extra_info     (3)
#define  NETTXF_extra_info     (1U << _NETTXF_extra_info)     /* a netif_extra_info follows */

/* netif_rx_response.flags */
#define _NETRXF_data_validated (0)
#define  NETRXF_data_validated (1U << _NETRXF_data_validated)
#define _NETRXF_csum_blank     (1)
#define  NETRXF_csum_blank     (1U << _NETRXF_csum_blank)
#define _NETRXF_more_data      (2)
#define  NETRXF_more_data      (1U << _NETRXF_more_data)
#define _NETRXF_extra_info     (3)
#define  NETRXF_extra_info     (1U << _NETRXF_extra_info)
#define _NETRXF_gso_prefix     (4)
#define  NETRXF_gso_prefix     (1U << _NETRXF_gso_prefix)

/* Status (netif_tx_response.status; negative netif_rx_response.status). */
#define NETIF_RSP_DROPPED  -2
#define NETIF_RSP_ERROR    -1
#define NETIF_RSP_OKAY      0
#define NETIF_RSP_NULL      1   /* no response: the slot held extra info */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>
#include <xen/grant_table.h>
#include <xen/io/ring.h>

struct netif_tx_request {
    grant_ref_t gref;           /* the granted page holding the packet */
    uint16_t offset;            /* where in that page it starts */
    uint16_t flags;             /* NETTXF_* */
    uint16_t id;                /* echoed in the response */
    uint16_t size;              /* packet size (first slot) or fragment size */
};
typedef struct netif_tx_request netif_tx_request_t;

struct netif_tx_response {
    uint16_t id;
    int16_t status;             /* NETIF_RSP_* */
};
typedef struct netif_tx_response netif_tx_response_t;

struct netif_rx_request {
    uint16_t id;                /* echoed in the response */
    uint16_t pad;
    grant_ref_t gref;           /* the granted page to receive into */
};
typedef struct netif_rx_request netif_rx_request_t;

struct netif_rx_response {
    uint16_t id;
    uint16_t offset;            /* where in the page the packet starts */
    uint16_t flags;             /* NETRXF_* */
    int16_t status;             /* > 0: packet size; < 0: NETIF_RSP_* */
};
typedef struct netif_rx_response netif_rx_response_t;

DEFINE_RING_TYPES(netif_tx, struct netif_tx_request, struct netif_tx_response);
DEFINE_RING_TYPES(netif_rx, struct netif_rx_request, struct netif_rx_response);

_Static_assert(sizeof(struct netif_tx_request) == 12, "netif_tx_request");
_Static_assert(offsetof(struct netif_tx_request, gref) == 0, "gref");
_Static_assert(offsetof(struct netif_tx_request, offset) == 4, "offset");
_Static_assert(offsetof(struct netif_tx_request, flags) == 6, "flags");
_Static_assert(offsetof(struct netif_tx_request, id) == 8, "id");
_Static_assert(offsetof(struct netif_tx_request, size) == 10, "size");
_Static_assert(sizeof(struct netif_tx_response) == 4, "netif_tx_response");
_Static_assert(offsetof(struct netif_tx_response, id) == 0, "id");
_Static_assert(offsetof(struct netif_tx_response, status) == 2, "status");
_Static_assert(sizeof(struct netif_rx_request) == 8, "netif_rx_request");
_Static_assert(offsetof(struct netif_rx_request, id) == 0, "id");
_Static_assert(offsetof(struct netif_rx_request, gref) == 4, "gref");
_Static_assert(sizeof(struct netif_rx_response) == 8, "netif_rx_response");
_Static_assert(offsetof(struct netif_rx_response, id) == 0, "id");
_Static_assert(offsetof(struct netif_rx_response, offset) == 2, "offset");
_Static_assert(offsetof(struct netif_rx_response, flags) == 4, "flags");
_Static_assert(offsetof(struct netif_rx_response, status) == 6, "status");
_Static_assert(offsetof(struct netif_tx_sring, req_prod) == 0, "req_prod");
_Static_assert(offsetof(struct netif_tx_sring, req_event) == 4, "req_event");
_Static_assert(offsetof(struct netif_tx_sring, rsp_prod) == 8, "rsp_prod");
_Static_assert(offsetof(struct netif_tx_sring, rsp_event) == 12, "rsp_event");
_Static_assert(offsetof(struct netif_tx_sring, pvt) == 16, "pvt");
_Static_assert(offsetof(struct netif_tx_sring, ring) == 64, "ring");
_Static_assert(offsetof(struct netif_rx_sring, req_prod) == 0, "req_prod");
_Static_assert(offsetof(struct netif_rx_sring, req_event) == 4, "req_event");
_Static_assert(offsetof(struct netif_rx_sring, rsp_prod) == 8, "rsp_prod");
_Static_assert(offsetof(struct netif_rx_sring, rsp_event) == 12, "rsp_event");
_Static_assert(offsetof(struct netif_rx_sring, pvt) == 16, "pvt");
_Static_assert(offsetof(struct netif_rx_sring, ring) == 64, "ring");
_Static_assert(__CONST_RING_SIZE(netif_tx, 4096) == 256, "256 TX slots in a page");
_Static_assert(__CONST_RING_SIZE(netif_rx, 4096) == 256, "256 RX slots in a page");

#endif /* !__ASSEMBLER__ */
#endif /* __XEN_PUBLIC_IO_NETIF_H__ */
