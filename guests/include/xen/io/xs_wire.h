/*
 * xen/io/xs_wire.h — the xenstore wire protocol (Xen's public io/xs_wire.h).
 *
 * A guest talks to xenstored through the page named by start_info.store_mfn
 * (event channel start_info.store_evtchn): two byte rings, req[] (guest ->
 * xenstored) and rsp[] (replies and watch events), with free-running
 * indices like the console's. Each message is an xsd_sockmsg header
 * followed by len bytes of payload, usually nul-terminated strings.
 */
#ifndef _XS_WIRE_H
#define _XS_WIRE_H

#define XENSTORE_RING_SIZE 1024
#define XENSTORE_PAYLOAD_MAX 4096   /* payload bytes after one header: more kills the link */
#define XENSTORE_ABS_PATH_MAX 3072  /* longer paths just get an error */
#define XENSTORE_REL_PATH_MAX 2048

/* xenstore_domain_interface.server_features, and .connection */
#define XENSTORE_SERVER_FEATURE_RECONNECTION 1
#define XENSTORE_CONNECTED 0        /* the steady state */
#define XENSTORE_RECONNECT 1        /* the guest asked to reconnect */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

enum xsd_sockmsg_type {
    XS_CONTROL = 0,             /* called XS_DEBUG before Xen 4.9 */
#define XS_DEBUG XS_CONTROL
    XS_DIRECTORY = 1,
    XS_READ = 2,
    XS_GET_PERMS = 3,
    XS_WATCH = 4,
    XS_UNWATCH = 5,
    XS_TRANSACTION_START = 6,
    XS_TRANSACTION_END = 7,
    XS_INTRODUCE = 8,
    XS_RELEASE = 9,
    XS_GET_DOMAIN_PATH = 10,
    XS_WRITE = 11,
    XS_MKDIR = 12,
    XS_RM = 13,
    XS_SET_PERMS = 14,
    XS_WATCH_EVENT = 15,        /* xenstored -> guest, unrequested */
    XS_ERROR = 16,              /* the payload is an errno name, e.g. "ENOENT" */
    XS_IS_DOMAIN_INTRODUCED = 17,
    XS_RESUME = 18,
    XS_SET_TARGET = 19,
    /* 20 was XS_RESTRICT, since removed */
    XS_RESET_WATCHES = 21,
    XS_DIRECTORY_PART = 22,
    XS_INVALID = 0xffff,        /* guaranteed never to be a valid type */
};

struct xsd_sockmsg {
    uint32_t type;              /* XS_* */
    uint32_t req_id;            /* the guest's tag, echoed in the reply */
    uint32_t tx_id;             /* transaction, or 0 */
    uint32_t len;               /* payload bytes that follow */
};

/* The strings of an XS_WATCH_EVENT payload, in order. */
enum xs_watch_type {
    XS_WATCH_PATH = 0,
    XS_WATCH_TOKEN = 1,
};

typedef uint32_t XENSTORE_RING_IDX;

/* Indices run freely; mask them to index req[] or rsp[]. */
#define MASK_XENSTORE_IDX(idx) ((idx) & (XENSTORE_RING_SIZE - 1))

struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE];   /* guest -> xenstored */
    char rsp[XENSTORE_RING_SIZE];   /* xenstored -> guest */
    XENSTORE_RING_IDX req_cons, req_prod;
    XENSTORE_RING_IDX rsp_cons, rsp_prod;
    uint32_t server_features;       /* XENSTORE_SERVER_FEATURE_* */
    uint32_t connection;            /* XENSTORE_CONNECTED or XENSTORE_RECONNECT */
};

_Static_assert(sizeof(struct xsd_sockmsg) == 16, "xsd_sockmsg");
_Static_assert(offsetof(struct xsd_sockmsg, type) == 0, "type");
_Static_assert(offsetof(struct xsd_sockmsg, req_id) == 4, "req_id");
_Static_assert(offsetof(struct xsd_sockmsg, tx_id) == 8, "tx_id");
_Static_assert(offsetof(struct xsd_sockmsg, len) == 12, "len");
_Static_assert(offsetof(struct xenstore_domain_interface, req) == 0, "req");
_Static_assert(offsetof(struct xenstore_domain_interface, rsp) == 1024, "rsp");
_Static_assert(offsetof(struct xenstore_domain_interface, req_cons) == 2048, "req_cons");
_Static_assert(offsetof(struct xenstore_domain_interface, req_prod) == 2052, "req_prod");
_Static_assert(offsetof(struct xenstore_domain_interface, rsp_cons) == 2056, "rsp_cons");
_Static_assert(offsetof(struct xenstore_domain_interface, rsp_prod) == 2060, "rsp_prod");
_Static_assert(offsetof(struct xenstore_domain_interface, server_features) == 2064,
               "server_features");
_Static_assert(offsetof(struct xenstore_domain_interface, connection) == 2068, "connection");

#endif /* !__ASSEMBLER__ */
#endif /* _XS_WIRE_H */
