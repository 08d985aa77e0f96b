"""The xenstore wire protocol (``io/xs_wire.h``) and ring page, as data.

Xenstore came with Xen 3.0 (2005): a small hierarchical database that domain 0's store daemon
keeps and every domain reaches through one shared page and one event channel.  It is the
control plane's successor of the per-domain control messages of the 2003 design (paper §2.3).
Each message in either direction is a 16-byte ``struct xsd_sockmsg`` header followed by ``len``
bytes of payload; the payload conventions are in ``docs/misc/xenstore.txt``.
"""

# enum xsd_sockmsg_type
XS_CONTROL = 0  # was XS_DEBUG
XS_DIRECTORY = 1
XS_READ = 2
XS_GET_PERMS = 3
XS_WATCH = 4
XS_UNWATCH = 5
XS_TRANSACTION_START = 6
XS_TRANSACTION_END = 7
XS_INTRODUCE = 8
XS_RELEASE = 9
XS_GET_DOMAIN_PATH = 10
XS_WRITE = 11
XS_MKDIR = 12
XS_RM = 13
XS_SET_PERMS = 14
XS_WATCH_EVENT = 15  # daemon -> client only: an unsolicited event, req_id = tx_id = 0
XS_ERROR = 16  # daemon -> client only: payload is an errno name, e.g. "ENOENT\0"
XS_IS_DOMAIN_INTRODUCED = 17
# Later additions (Xen 3.1+), listed so a number is never reused by mistake.
XS_RESUME = 18
XS_SET_TARGET = 19
# 20 was XS_RESTRICT (removed)
XS_RESET_WATCHES = 21
XS_DIRECTORY_PART = 22
XS_INVALID = 0xFFFF  # guaranteed to remain an invalid type

XS_MESSAGE_NAMES: dict[int, str] = {
    XS_CONTROL: "CONTROL",
    XS_DIRECTORY: "DIRECTORY",
    XS_READ: "READ",
    XS_GET_PERMS: "GET_PERMS",
    XS_WATCH: "WATCH",
    XS_UNWATCH: "UNWATCH",
    XS_TRANSACTION_START: "TRANSACTION_START",
    XS_TRANSACTION_END: "TRANSACTION_END",
    XS_INTRODUCE: "INTRODUCE",
    XS_RELEASE: "RELEASE",
    XS_GET_DOMAIN_PATH: "GET_DOMAIN_PATH",
    XS_WRITE: "WRITE",
    XS_MKDIR: "MKDIR",
    XS_RM: "RM",
    XS_SET_PERMS: "SET_PERMS",
    XS_WATCH_EVENT: "WATCH_EVENT",
    XS_ERROR: "ERROR",
    XS_IS_DOMAIN_INTRODUCED: "IS_DOMAIN_INTRODUCED",
    XS_RESUME: "RESUME",
    XS_SET_TARGET: "SET_TARGET",
    XS_RESET_WATCHES: "RESET_WATCHES",
    XS_DIRECTORY_PART: "DIRECTORY_PART",
}

# struct xsd_sockmsg { uint32_t type, req_id, tx_id, len; } — little-endian on x86.
XSD_SOCKMSG_FORMAT = "<IIII"
XSD_SOCKMSG_SIZE = 16
XSD_TYPE = 0
XSD_REQ_ID = 4  # chosen by the client, echoed in the reply
XSD_TX_ID = 8  # 0, or a transaction id from XS_TRANSACTION_START
XSD_LEN = 12  # payload bytes that follow the header

# Errors travel as their names, not numbers ("for portability"): struct xsd_errors.  EINVAL
# comes first because xenstored falls back to entry 0 for an errno it cannot name; EPERM was
# appended in 2022.
XSD_ERRORS: tuple[str, ...] = (
    "EINVAL",
    "EACCES",
    "EEXIST",
    "EISDIR",
    "ENOENT",
    "ENOMEM",
    "ENOSPC",
    "EIO",
    "ENOTEMPTY",
    "ENOSYS",
    "EROFS",
    "EBUSY",
    "EAGAIN",
    "EISCONN",
    "E2BIG",
    "EPERM",
)

# Write modes of the old XS_WRITE extension (unused by xenlab, kept for completeness).
XS_WRITE_NONE = "NONE"
XS_WRITE_CREATE = "CREATE"
XS_WRITE_CREATE_EXCL = "CREATE|EXCL"

# Limits.  A payload over XENSTORE_PAYLOAD_MAX kills the connection ("Violating this is very
# bad"); over-long paths just get an error.
XENSTORE_PAYLOAD_MAX = 4096
XENSTORE_ABS_PATH_MAX = 3072
XENSTORE_REL_PATH_MAX = 2048

# struct xenstore_domain_interface: the store ring page (start_info.store_mfn).  Two byte rings
# with free-running 32-bit indices masked by the ring size, like the console page.
XENSTORE_RING_SIZE = 1024
XS_RING_REQ = 0  # char req[1024]: requests to the daemon
XS_RING_RSP = 0x400  # char rsp[1024]: replies and watch events
XS_RING_REQ_CONS = 0x800
XS_RING_REQ_PROD = 0x804
XS_RING_RSP_CONS = 0x808
XS_RING_RSP_PROD = 0x80C
XS_RING_SERVER_FEATURES = 0x810
XS_RING_CONNECTION = 0x814
XENSTORE_SERVER_FEATURE_RECONNECTION = 1
XENSTORE_CONNECTED = 0
XENSTORE_RECONNECT = 1

# Permission letters of <perm-as-string> (xenstore.txt, SET_PERMS): the letter, then a domid.
XS_PERM_NONE = "n"
XS_PERM_READ = "r"
XS_PERM_WRITE = "w"
XS_PERM_BOTH = "b"

# Special watch paths: events xenstored invents rather than node changes.
XS_SPECIAL_INTRODUCE_DOMAIN = "@introduceDomain"
XS_SPECIAL_RELEASE_DOMAIN = "@releaseDomain"
