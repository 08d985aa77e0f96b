"""The xenstore wire protocol: ``xsd_sockmsg`` messages, one client's connection, and the
request handlers (Xen 3.0+).

Part of the store (:mod:`xenlab.dom0.xenstore`).  A ``Connection`` is one client: it takes
request bytes in any chunking and gives back replies and watch events, and breaks on a
protocol violation.  ``XenstoreWire`` holds the methods of ``Xenstore`` that serve one request
each, chosen through one dispatch table (``_WIRE``, xenstored's ``wire_funcs``); they decode
the payload and call the store's tree operations.  Message layout: ``io/xs_wire.h``; payloads
and semantics: ``docs/misc/xenstore.txt``; C xenstored (``tools/xenstore/xenstored_core.c``)
where the document is vague.
"""

from __future__ import annotations

import string
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from xenlab.abi import xenstore as xs
from xenlab.dom0.xs_paths import DOMID_FIRST_RESERVED, XenstoreError, domain_path

if TYPE_CHECKING:
    from xenlab.dom0.xenstore import IntroducedDomain, Xenstore
    from xenlab.dom0.xs_watch import Watch

_HEADER = struct.Struct(xs.XSD_SOCKMSG_FORMAT)
OK = b"OK\0"


def encode_message(type_: int, payload: bytes = b"", *, req_id: int = 0, tx_id: int = 0) -> bytes:
    """One ``xsd_sockmsg`` and its payload, as a client sends it."""
    return _HEADER.pack(type_, req_id, tx_id, len(payload)) + payload


def decode_messages(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """Split complete messages ``(type, req_id, tx_id, payload)`` out of a byte stream
    (for clients and tests; a trailing partial message is an error)."""
    messages = []
    while data:
        type_, req_id, tx_id, length = _HEADER.unpack_from(data)
        end = xs.XSD_SOCKMSG_SIZE + length
        if len(data) < end:
            raise ValueError("truncated xenstore message")
        messages.append((type_, req_id, tx_id, data[xs.XSD_SOCKMSG_SIZE : end]))
        data = data[end:]
    return messages


class Connection:
    """One client of the store: a domain's store ring (``Xenstore.connection``), or domain
    0's Python code (the store keeps one per domid for its Python API).

    ``handle`` takes request bytes in any chunking; ``pending_output`` gives back reply and
    event bytes.  A protocol violation (a payload over XENSTORE_PAYLOAD_MAX, i.e. a header
    the daemon cannot trust to find the next message) breaks the connection: ``broken``
    says why, and the connection takes no more requests and gets no more events.  Nothing
    a client sends makes ``handle`` raise.
    """

    def __init__(self, store: Xenstore, domid: int) -> None:
        self.store = store
        self.domid = domid
        self.broken: str | None = None
        self.dropped_events = 0  # watch events not queued because the client was not reading
        self._in = bytearray()
        self._out = bytearray()
        self._watches: list[Watch] = []
        self._initial_events: list[Watch] = []  # a new watch's first event follows the ack
        self._processing = False

    def __repr__(self) -> str:
        state = f" broken: {self.broken}" if self.broken else ""
        return f"<xenstore Connection dom{self.domid}{state}>"

    @property
    def privileged(self) -> bool:
        """Domain 0 bypasses permission checks and quotas."""
        return self.domid == 0

    @property
    def accepting_input(self) -> bool:
        """False while replies pile up unread: the transport should leave requests in the
        ring (the guest then waits, as with xenstored, which stops reading)."""
        return self.broken is None and len(self._out) < self.store.quota.output_bytes

    @property
    def has_output(self) -> bool:
        """Replies or watch events are waiting for the transport."""
        return bool(self._out)

    def handle(self, data: bytes) -> None:
        """Take request bytes (zero or more messages, possibly cut anywhere)."""
        if self.broken is not None:
            return
        self._in += data
        self._process()

    def pending_output(self, limit: int | None = None) -> bytes:
        """Remove and return up to ``limit`` bytes (all by default) of replies and events.

        Taking output may let requests that were held back run, queueing more: a transport
        calls this until it returns nothing or its ring is full."""
        n = len(self._out) if limit is None else max(0, min(limit, len(self._out)))
        data = bytes(self._out[:n])
        del self._out[:n]
        if self._in and self.broken is None:
            self._process()  # requests held back while output was full
        return data

    def _process(self) -> None:
        if self._processing:  # a watch callback fed this connection: finish the outer loop
            return
        self._processing = True
        try:
            while self.broken is None and len(self._out) < self.store.quota.output_bytes:
                if len(self._in) < xs.XSD_SOCKMSG_SIZE:
                    break
                type_, req_id, tx_id, length = _HEADER.unpack_from(self._in)
                if length > xs.XENSTORE_PAYLOAD_MAX:
                    # xenstore.txt: "If a client exceeds the limit, its xenstored connection
                    # will be immediately killed": the stream cannot be resynchronised.
                    self._break(
                        f"protocol error: message type {type_} claims a {length}-byte payload "
                        f"(XENSTORE_PAYLOAD_MAX is {xs.XENSTORE_PAYLOAD_MAX})"
                    )
                    return
                end = xs.XSD_SOCKMSG_SIZE + length
                if len(self._in) < end:
                    break
                payload = bytes(self._in[xs.XSD_SOCKMSG_SIZE : end])
                del self._in[:end]
                self.store._dispatch(self, type_, req_id, tx_id, payload)
            if self.broken is None and len(self._in) > self.store.quota.input_bytes:
                self._break(
                    f"more than {self.store.quota.input_bytes} bytes of requests "
                    "sent while replies went unread"
                )
        finally:
            self._processing = False

    def _send(self, type_: int, req_id: int, tx_id: int, payload: bytes) -> None:
        self._out += _HEADER.pack(type_, req_id, tx_id, len(payload)) + payload

    def _event(self, path: str, token: str) -> None:
        """Queue an XS_WATCH_EVENT ("<epath>|<token>|", req_id and tx_id 0)."""
        payload = f"{path}\0{token}\0".encode("latin-1")
        too_long = len(payload) > xs.XENSTORE_PAYLOAD_MAX  # xenstored drops these too
        flooded = not self.privileged and len(self._out) >= self.store.quota.output_bytes
        if too_long or flooded:
            self.dropped_events += 1
            return
        self._send(xs.XS_WATCH_EVENT, 0, 0, payload)

    def _break(self, reason: str) -> None:
        self.broken = reason
        self._in.clear()
        self.store._forget(self)


def _strings(payload: bytes) -> list[str]:
    """The NUL-terminated strings of a payload (xenstored's ``get_strings``: bytes after the
    last NUL are ignored)."""
    return [s.decode("latin-1") for s in payload.split(b"\0")[:-1]]


def _onearg(payload: bytes) -> str:
    """xenstored's ``onearg``: exactly one string, with its NUL at the very end."""
    if not payload.endswith(b"\0") or payload.count(b"\0") != 1:
        raise XenstoreError("EINVAL", "expected one NUL-terminated argument")
    return payload[:-1].decode("latin-1")


def _domid(text: str) -> int:
    if not text or not all(c in string.digits for c in text) or int(text) > 0xFFFF:
        raise XenstoreError("EINVAL", f"bad domid {text[:16]!r}")
    return int(text)


class XenstoreWire:
    """The wire part of ``Xenstore`` (mixed into it): one handler per request type."""

    log: list[str]
    internal_errors: list[str]
    _introduced: dict[int, IntroducedDomain]

    def _dispatch(
        self, conn: Connection, type_: int, req_id: int, tx_id: int, payload: bytes
    ) -> None:
        """Serve one request.  The reply echoes type, req_id and tx_id; an error replies
        XS_ERROR with the errno name (xenstore.txt: "only req_id and tx_id copied")."""
        handler = _WIRE.get(type_)
        try:
            if handler is None:  # xenstored: "Client unknown operation" -> ENOSYS
                raise XenstoreError("ENOSYS", f"message type {type_}")
            reply = handler(self, conn, tx_id, payload)
            if len(reply) > xs.XENSTORE_PAYLOAD_MAX:
                raise XenstoreError("E2BIG", f"a {len(reply)}-byte reply")  # as send_reply
        except XenstoreError as err:
            type_, reply = xs.XS_ERROR, err.errno.encode() + b"\0"
            conn._initial_events.clear()
        except Exception as exc:  # a daemon bug must not take domain 0 down with the client
            self.internal_errors.append(f"dom{conn.domid} type {type_}: {exc!r}")
            type_, reply = xs.XS_ERROR, b"EIO\0"
            conn._initial_events.clear()
        conn._send(type_, req_id, tx_id, reply)
        # xenstored's do_watch: send_ack, then "We fire once up front: simplifies clients
        # and restart."  The first event carries the watched path itself and tells the
        # watcher nothing it did not send, so it is not subject to permissions.
        for watch in conn._initial_events:
            self._deliver(watch, watch.path)
        conn._initial_events.clear()

    def _wire_directory(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        return b"".join(n.encode() + b"\0" for n in self._directory(conn, tx_id, _onearg(payload)))

    def _wire_read(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        return self._read(conn, tx_id, _onearg(payload))

    def _wire_get_perms(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        perms = self._get_perms(conn, tx_id, _onearg(payload))
        return b"".join(p.encode() + b"\0" for p in perms)

    def _wire_write(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        path, nul, value = payload.partition(b"\0")  # "<path>|<value|>": value may hold NULs
        if not nul:
            raise XenstoreError("EINVAL", "WRITE without a path")
        self._write(conn, tx_id, path.decode("latin-1"), value)
        return OK

    def _wire_mkdir(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        self._mkdir(conn, tx_id, _onearg(payload))
        return OK

    def _wire_rm(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        self._rm(conn, tx_id, _onearg(payload))
        return OK

    def _wire_set_perms(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        args = _strings(payload)
        if len(args) < 2:
            raise XenstoreError("EINVAL", "SET_PERMS needs a path and permissions")
        self._set_perms(conn, tx_id, args[0], args[1:])
        return OK

    def _wire_watch(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        args = _strings(payload)  # "The tx_id in a WATCH request is ignored."
        if len(args) != 2:
            raise XenstoreError("EINVAL", "WATCH needs a path and a token")
        conn._initial_events.append(self._watch(conn, args[0], args[1], None))
        return OK

    def _wire_unwatch(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        args = _strings(payload)
        if len(args) != 2:
            raise XenstoreError("EINVAL", "UNWATCH needs a path and a token")
        self._unwatch(conn, args[0], args[1])
        return OK

    def _wire_transaction_start(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        if tx_id != 0:  # "It is not legal to send non-0 tx_id in TRANSACTION_START."
            self._space(conn, tx_id)  # an unknown id is ENOENT, as in xenstored
            raise XenstoreError("EBUSY", "transactions do not nest")
        return f"{self._transaction_start(conn)}\0".encode()

    def _wire_transaction_end(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        arg = _onearg(payload)
        if arg not in ("T", "F"):
            raise XenstoreError("EINVAL", "TRANSACTION_END takes T or F")
        self._transaction_end(conn, tx_id, commit=arg == "T")
        return OK

    def _wire_introduce(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        self._need_privilege(conn, "INTRODUCE")
        args = _strings(payload)  # <domid>|<mfn>|<evtchn>|? ; mfn "in signed decimal (!)"
        if len(args) < 3:
            raise XenstoreError("EINVAL", "INTRODUCE needs a domid, an mfn and a port")
        domid = _domid(args[0])
        if domid == 0 or domid >= DOMID_FIRST_RESERVED:
            raise XenstoreError("EINVAL", f"cannot introduce domain {domid}")
        try:
            mfn, port = int(args[1]), int(args[2])
        except ValueError:
            raise XenstoreError("EINVAL", "bad mfn or event channel") from None
        self._introduce(domid, mfn, port)
        return OK

    def _wire_release(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        self._need_privilege(conn, "RELEASE")
        domid = _domid(_onearg(payload))
        if domid == 0:
            raise XenstoreError("EINVAL", "domain 0 cannot be released")
        if domid not in self._introduced:
            raise XenstoreError("ENOENT", f"domain {domid} is not introduced")
        self._release(domid)
        return OK

    def _wire_get_domain_path(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        return domain_path(_domid(_onearg(payload))).encode() + b"\0"

    def _wire_is_domain_introduced(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        return b"T\0" if _domid(_onearg(payload)) in self._introduced else b"F\0"

    def _wire_control(self, conn: Connection, tx_id: int, payload: bytes) -> bytes:
        """CONTROL <command>|[<parameters>|]: implementation-specific; xenlab knows
        "check" (the store's invariants), "print|<string>" (to ``log``) and "help"."""
        self._need_privilege(conn, "CONTROL")
        args = _strings(payload)
        if args == ["help"]:
            return b"check\nprint\nhelp\n\0"
        if args == ["check"]:
            problems = self.check()
            if problems:
                raise XenstoreError("EIO", "; ".join(problems))
            return OK
        if len(args) == 2 and args[0] == "print":
            self.log.append(args[1])
            return OK
        raise XenstoreError("EINVAL", f"unknown control command {args[:1]}")

    @staticmethod
    def _need_privilege(conn: Connection, what: str) -> None:
        if not conn.privileged:  # "xenstored prevents its use other than by dom0"
            raise XenstoreError("EACCES", f"{what} is for domain 0 only")


_WIRE: dict[int, Callable[[XenstoreWire, Connection, int, bytes], bytes]] = {
    xs.XS_CONTROL: XenstoreWire._wire_control,
    xs.XS_DIRECTORY: XenstoreWire._wire_directory,
    xs.XS_READ: XenstoreWire._wire_read,
    xs.XS_GET_PERMS: XenstoreWire._wire_get_perms,
    xs.XS_WATCH: XenstoreWire._wire_watch,
    xs.XS_UNWATCH: XenstoreWire._wire_unwatch,
    xs.XS_TRANSACTION_START: XenstoreWire._wire_transaction_start,
    xs.XS_TRANSACTION_END: XenstoreWire._wire_transaction_end,
    xs.XS_INTRODUCE: XenstoreWire._wire_introduce,
    xs.XS_RELEASE: XenstoreWire._wire_release,
    xs.XS_GET_DOMAIN_PATH: XenstoreWire._wire_get_domain_path,
    xs.XS_WRITE: XenstoreWire._wire_write,
    xs.XS_MKDIR: XenstoreWire._wire_mkdir,
    xs.XS_RM: XenstoreWire._wire_rm,
    xs.XS_SET_PERMS: XenstoreWire._wire_set_perms,
    xs.XS_IS_DOMAIN_INTRODUCED: XenstoreWire._wire_is_domain_introduced,
}
"""The dispatch table, one handler per request type (xenstored's ``wire_funcs``).
XS_WATCH_EVENT and XS_ERROR are replies only; sent as requests they get ENOSYS, as do the
later additions xenlab does not implement (RESUME, SET_TARGET, RESET_WATCHES,
DIRECTORY_PART)."""
