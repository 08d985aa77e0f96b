"""Xen's shared I/O rings as data: the ring page of ``io/ring.h``, the records of the block
and network rings (``io/blkif.h``, ``io/netif.h``), and the console page (``io/console.h``).
The other byte-ring page every PV guest has, xenstore's (``io/xs_wire.h``), is in
``xenlab.abi.xenstore`` with the rest of the xenstore protocol.

Paper §3.2 ("asynchronous I/O rings"): a ring is a circular queue of descriptors in one page
shared by a guest (the front end) and a driver domain or Xen (the back end), with a
producer-consumer pointer pair for each direction.  The mechanism is ``xenlab.xen.ring``; this
module only says where every byte is.  ``tests/abi`` checks the guests' C headers
(``guests/include/xen/io/``) against it.

Records are little-endian with the 32-bit x86 ABI's alignment: a ``uint64_t`` inside a struct
is aligned to 4, not 8 (so ``blkif_request.id`` is at offset 4), and every pad byte the C
compiler inserts is spelled out here as ``x``.
"""

from __future__ import annotations

import struct

from xenlab.abi.layout import PAGE_SIZE

RING_IDX_MASK = 0xFFFFFFFF  # RING_IDX is a free-running unsigned 32-bit counter

# --- The shared ring page (struct NAME_sring, DEFINE_RING_TYPES) ---------------------------
SRING_REQ_PROD = 0
SRING_REQ_EVENT = 4
SRING_RSP_PROD = 8
SRING_RSP_EVENT = 12
SRING_PAD = 16  # pvt (4 bytes) + __pad (44 bytes): zeroed by SHARED_RING_INIT
SRING_RING = 64  # offsetof(struct NAME_sring, ring): the entries start here


def ring_size(entry_size: int, area: int = PAGE_SIZE) -> int:
    """Entries in a ring of ``entry_size``-byte entries in ``area`` bytes (``__CONST_RING_SIZE``).

    As many entries as fit after the 64-byte header, rounded down to a power of two
    (``__RD32``) so that an index becomes a slot with ``idx & (size - 1)``.
    """
    if entry_size <= 0 or entry_size > area - SRING_RING:
        raise ValueError(f"a {entry_size}-byte entry does not fit a {area}-byte ring")
    return 1 << (((area - SRING_RING) // entry_size).bit_length() - 1)


class Record:
    """A C structure of the 32-bit ABI: a ``struct.Struct`` and its fields' offsets.

    ``fields`` are ``(name, format)`` pairs in order; a pad has the name ``""`` and a format
    of ``x`` bytes.  ``unpack_from`` and ``pack_into`` speak in field names.
    """

    def __init__(self, name: str, *fields: tuple[str, str]) -> None:
        self.name = name
        self.struct = struct.Struct("<" + "".join(fmt for _, fmt in fields))
        self.size = self.struct.size
        self.offsets: dict[str, int] = {}
        self._defaults: dict[str, int | bytes] = {}  # what pack_into writes for a field not given
        offset = 0
        for field, fmt in fields:
            if field:
                self.offsets[field] = offset
                self._defaults[field] = b"" if fmt.endswith("s") else 0
            offset += struct.calcsize("<" + fmt)
        self.fields = tuple(self.offsets)

    def unpack_from(
        self, buffer: bytes | bytearray | memoryview, offset: int = 0
    ) -> dict[str, int | bytes]:
        return dict(zip(self.fields, self.struct.unpack_from(buffer, offset), strict=True))

    def pack_into(self, buffer: bytearray | memoryview, offset: int = 0, **values: object) -> None:
        unknown = set(values) - set(self.fields)
        if unknown:
            raise TypeError(f"struct {self.name} has no field {', '.join(sorted(unknown))}")
        self.struct.pack_into(
            buffer, offset, *(values.get(f, d) for f, d in self._defaults.items())
        )

    def __repr__(self) -> str:
        return f"Record({self.name!r}, size={self.size}, offsets={self.offsets})"


# --- Block device rings (io/blkif.h) ------------------------------------------------------
BLKIF_OP_READ = 0
BLKIF_OP_WRITE = 1
BLKIF_OP_WRITE_BARRIER = 2
BLKIF_OP_FLUSH_DISKCACHE = 3
BLKIF_RSP_EOPNOTSUPP = -2
BLKIF_RSP_ERROR = -1
BLKIF_RSP_OKAY = 0
# Scatter-gather segments per request; 32 requests of 108 bytes use 3456 of a ring's 4032 bytes.
BLKIF_MAX_SEGMENTS_PER_REQUEST = 11

# A segment: a granted page and the 512-byte sectors first_sect..last_sect (inclusive) in it.
BLKIF_REQUEST_SEGMENT = Record(
    "blkif_request_segment", ("gref", "I"), ("first_sect", "B"), ("last_sect", "B"), ("", "2x")
)
BLKIF_REQUEST = Record(
    "blkif_request",
    ("operation", "B"),
    ("nr_segments", "B"),
    ("handle", "H"),
    ("id", "Q"),  # 4-byte aligned on x86_32: offset 4
    ("sector_number", "Q"),
    ("seg", f"{BLKIF_MAX_SEGMENTS_PER_REQUEST * BLKIF_REQUEST_SEGMENT.size}s"),
)
BLKIF_RESPONSE = Record(
    "blkif_response", ("id", "Q"), ("operation", "B"), ("", "x"), ("status", "h")
)
BLKIF_ENTRY_SIZE = max(BLKIF_REQUEST.size, BLKIF_RESPONSE.size)  # union blkif_sring_entry
BLKIF_RING_SIZE = ring_size(BLKIF_ENTRY_SIZE)

# --- Network rings (io/netif.h): one TX and one RX ring, a page each ----------------------
NETIF_RSP_DROPPED = -2
NETIF_RSP_ERROR = -1
NETIF_RSP_OKAY = 0
NETIF_RSP_NULL = 1  # no response: the slot carried a netif_extra_info
NETTXF_csum_blank = 1 << 0  # protocol checksum field is blank (offload)
NETTXF_data_validated = 1 << 1  # data validated against the protocol checksum
NETTXF_more_data = 1 << 2  # the packet continues in the next request
NETTXF_extra_info = 1 << 3  # a netif_extra_info follows
NETRXF_data_validated = 1 << 0
NETRXF_csum_blank = 1 << 1
NETRXF_more_data = 1 << 2
NETRXF_extra_info = 1 << 3
NETRXF_gso_prefix = 1 << 4

NETIF_TX_REQUEST = Record(
    "netif_tx_request", ("gref", "I"), ("offset", "H"), ("flags", "H"), ("id", "H"), ("size", "H")
)
NETIF_TX_RESPONSE = Record("netif_tx_response", ("id", "H"), ("status", "h"))
NETIF_RX_REQUEST = Record("netif_rx_request", ("id", "H"), ("", "2x"), ("gref", "I"))
NETIF_RX_RESPONSE = Record(
    "netif_rx_response", ("id", "H"), ("offset", "H"), ("flags", "H"), ("status", "h")
)
NETIF_TX_ENTRY_SIZE = max(NETIF_TX_REQUEST.size, NETIF_TX_RESPONSE.size)
NETIF_RX_ENTRY_SIZE = max(NETIF_RX_REQUEST.size, NETIF_RX_RESPONSE.size)
NETIF_TX_RING_SIZE = ring_size(NETIF_TX_ENTRY_SIZE)
NETIF_RX_RING_SIZE = ring_size(NETIF_RX_ENTRY_SIZE)

# --- The console page (struct xencons_interface, io/console.h) ----------------------------
# Two byte rings: in[] (back end -> guest: keyboard), out[] (guest -> back end: screen).
XENCONS_IN = 0
XENCONS_IN_SIZE = 1024
XENCONS_OUT = 0x400
XENCONS_OUT_SIZE = 2048
XENCONS_IN_CONS = 0xC00
XENCONS_IN_PROD = 0xC04
XENCONS_OUT_CONS = 0xC08
XENCONS_OUT_PROD = 0xC0C

# The xenstore page (struct xenstore_domain_interface) and its wire protocol belong to
# xenlab.abi.xenstore; xenlab.xen.ring reads that page with the same ByteRing as the console's.

# Every record above: tests/abi checks each field offset and size against the C headers.
RECORDS = (
    BLKIF_REQUEST_SEGMENT,
    BLKIF_REQUEST,
    BLKIF_RESPONSE,
    NETIF_TX_REQUEST,
    NETIF_TX_RESPONSE,
    NETIF_RX_REQUEST,
    NETIF_RX_RESPONSE,
)
