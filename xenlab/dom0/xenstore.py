"""xenstored: the store daemon domain 0 runs for every domain (Xen 3.0+).

The 2003 paper predates xenstore: there (§2.3) domain 0's control software drove the other
domains through Xen's control interface and per-domain control messages.  Xen 3.0 replaced
those messages with *xenstore*, a small hierarchical key/value store kept by a daemon in
domain 0: the toolstack writes a new domain's configuration into it, front-end and back-end
drivers meet there (``device/vbd/768/ring-ref``, ``state``...), and watches tell each side
when the other has written.  It is the control plane; bulk data never goes through it.

This module is the daemon's message engine, independent of any transport:

- ``Xenstore`` holds the tree of ``Node`` s (path -> value, permissions, children), the
  watches, the transactions and the introduced domains, and offers the same operations to
  Python code in domain 0 (``read``, ``write``, ``watch`` ..., each with a ``domid`` to act
  as) and the domain lifecycle (``introduce_domain``/``release_domain``, as xl does it).
- ``Connection`` is one client.  ``handle(bytes)`` takes a byte stream of ``xsd_sockmsg``
  requests in arbitrary chunks (the ring transport copies whatever the guest has produced),
  and ``pending_output()`` gives back replies and watch events, in order, for the response
  ring.  Whoever owns the store ring page and event channel connects the two.

Protocol and semantics follow ``docs/misc/xenstore.txt`` and ``io/xs_wire.h``; where the
document is vague, C xenstored (``tools/xenstore/xenstored_core.c``, ``xenstored_watch.c``)
decides, and the comments say so.  xenlab is deterministic: children are listed sorted, watch
events go out in registration order, transaction ids count up from 1.
"""

from __future__ import annotations

import string
import struct
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from xenlab.abi import xenstore as xs

_HEADER = struct.Struct(xs.XSD_SOCKMSG_FORMAT)
_PATH_CHARS = frozenset(string.ascii_letters + string.digits + "-/_@")
_ACCESS = {xs.XS_PERM_NONE: "", xs.XS_PERM_READ: "r", xs.XS_PERM_WRITE: "w", xs.XS_PERM_BOTH: "rw"}
SPECIAL_PATHS = (xs.XS_SPECIAL_INTRODUCE_DOMAIN, xs.XS_SPECIAL_RELEASE_DOMAIN)
DOMID_FIRST_RESERVED = 0x7FF0  # xen.h: DOMID_SELF and up are not real domains
OK = b"OK\0"

WatchCallback = Callable[[str, str], None]  # (event path, token)


class XenstoreError(Exception):
    """An operation failed; ``errno`` is the name xenstored sends back ("EACCES", ...)."""

    def __init__(self, errno: str, detail: str = "") -> None:
        if errno not in xs.XSD_ERRORS:
            raise ValueError(f"{errno} is not an xs_wire.h error name")
        super().__init__(f"{errno}: {detail}" if detail else errno)
        self.errno = errno
        self.detail = detail


# --- Permissions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Perm:
    """One ``<perm-as-string>``: a letter (n none, r read, w write, b both) and a domid.

    A node's list reads: first entry = owner and what everybody else may do; later entries =
    what a named domain may do instead.  ``("n0", "r5")``: dom0's, and only dom5 may read.
    """

    letter: str
    domid: int

    def __str__(self) -> str:
        return f"{self.letter}{self.domid}"

    @classmethod
    def parse(cls, text: str | Perm) -> Perm:
        if isinstance(text, Perm):
            return text
        digits = text[1:]
        if (
            len(text) < 2
            or text[0] not in _ACCESS
            or not all(c in string.digits for c in digits)
            or int(digits) > 0xFFFF
        ):
            raise XenstoreError("EINVAL", f"bad permission {text!r}")
        return cls(text[0], int(digits))


def parse_perms(entries: Iterable[str | Perm]) -> tuple[Perm, ...]:
    perms = tuple(Perm.parse(e) for e in entries)
    if not perms:
        raise XenstoreError("EINVAL", "a node needs at least an owner permission")
    return perms


def access(perms: Sequence[Perm], domid: int) -> str:
    """What ``domid`` may do with a node: a subset of "rw" (xenstored's ``perm_for_conn``).

    Domain 0 and the owner may do everything ("Owners and tools get it all"); otherwise the
    first later entry naming the domain decides, else the first entry's default.
    """
    if domid == 0 or perms[0].domid == domid:
        return "rw"
    for perm in perms[1:]:
        if perm.domid == domid:
            return _ACCESS[perm.letter]
    return _ACCESS[perms[0].letter]


# --- Nodes and paths --------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One path's contents.  ``gen`` changes on every modification of this node (value,
    permissions or child list): transactions compare it to detect conflicts."""

    value: bytes
    perms: tuple[Perm, ...]
    children: frozenset[str] = frozenset()
    gen: int = 0

    @property
    def size(self) -> int:
        """What counts against the entry-size quota: the value and the child names."""
        return len(self.value) + sum(len(c) + 1 for c in self.children)


def domain_path(domid: int) -> str:
    """A domain's home, the base of its relative paths (XS_GET_DOMAIN_PATH)."""
    return f"/local/domain/{domid}"


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[1]


def _join(parent: str, name: str) -> str:
    return f"/{name}" if parent == "/" else f"{parent}/{name}"


def is_child(child: str, parent: str) -> bool:
    """xenstore.txt: <child> is a child of <parent> if identical, if <parent> is /, or if
    <parent>/ is an initial substring of <child>."""
    return parent == "/" or child == parent or child.startswith(parent + "/")


def _valid_path(path: str) -> bool:
    """xenstored's ``is_valid_nodename``: absolute, no // nor trailing /, at most 3072 bytes,
    only alphanumerics and -/_@."""
    return (
        path.startswith("/")
        and (path == "/" or not path.endswith("/"))
        and "//" not in path
        and len(path) <= xs.XENSTORE_ABS_PATH_MAX
        and set(path) <= _PATH_CHARS
    )


def canonical_path(path: str, domid: int) -> str:
    """An absolute path: a relative one is taken relative to the caller's home."""
    if not path.startswith("/"):
        if not path or len(path) > xs.XENSTORE_REL_PATH_MAX:
            raise XenstoreError("EINVAL", f"bad path {path[:64]!r}")
        path = f"{domain_path(domid)}/{path}"
    if not _valid_path(path):
        raise XenstoreError("EINVAL", f"bad path {path[:64]!r}")
    return path


# --- Limits -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """What one unprivileged domain may consume, so that a hostile guest cannot exhaust
    domain 0 (xenstored's ``quota_*`` settings).  Domain 0 is exempt."""

    nodes_per_domain: int = 1000  # quota_nb_entry_per_domain: nodes it owns -> ENOSPC
    entry_size: int = xs.XENSTORE_PAYLOAD_MAX  # value + child names of a node -> ENOSPC
    watches_per_connection: int = 128  # quota_nb_watch_per_domain -> E2BIG
    transactions_per_connection: int = 10  # quota_max_transaction -> ENOSPC
    output_bytes: int = 64 * 1024  # unread replies/events: stop taking requests, drop events
    input_bytes: int = 64 * 1024  # requests buffered meanwhile: beyond this, the client is cut


@dataclass(frozen=True)
class IntroducedDomain:
    """A domain xenstored talks to (XS_INTRODUCE: <domid>|<mfn>|<evtchn>|)."""

    domid: int
    store_mfn: int | None
    store_evtchn: int | None


@dataclass(eq=False)
class _Watch:
    conn: Connection
    path: str  # absolute, or "@..." for a special watch
    token: str
    prefix_len: int  # a relative watch gets relative event paths: strip "<home>/"
    callback: WatchCallback | None  # Python watchers; wire watchers get XS_WATCH_EVENT


@dataclass(eq=False)
class _Transaction:
    """xenstore.txt: "When transaction is started whole db is copied; reads and writes
    happen on the copy."  ``seen`` remembers, for every path the transaction looked at or
    changed, its generation in the copy (None: absent); commit fails with EAGAIN if any of
    them has changed in the live tree since ("only intervening `conflicting' writes")."""

    tx_id: int
    conn: Connection
    nodes: dict[str, Node]
    seen: dict[str, int | None] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)
    owned: Counter[int] = field(default_factory=Counter)  # change in nodes owned, per domain
    events: dict[tuple[str, bool], None] = field(default_factory=dict)  # fired at commit


class _Space:
    """Where one operation reads and writes: the live tree, or a transaction's copy."""

    def __init__(self, store: Xenstore, tx: _Transaction | None) -> None:
        self.store = store
        self.tx = tx
        self.nodes = tx.nodes if tx is not None else store._nodes

    def get(self, path: str) -> Node | None:
        node = self.nodes.get(path)
        if self.tx is not None:
            self.tx.seen.setdefault(path, node.gen if node is not None else None)
        return node

    def put(self, path: str, node: Node) -> None:
        self._count(self.get(path), -1)
        self.nodes[path] = replace(node, gen=self.store._next_gen())
        self._count(node, +1)
        if self.tx is not None:
            self.tx.written.add(path)

    def delete(self, path: str) -> None:
        self._count(self.get(path), -1)
        del self.nodes[path]
        if self.tx is not None:
            self.tx.written.add(path)

    def _count(self, node: Node | None, delta: int) -> None:
        """Keep the per-owner node counts the quota needs (xenstored's domain_entry_inc)."""
        if node is not None:
            counts = self.tx.owned if self.tx is not None else self.store._owned
            counts[node.perms[0].domid] += delta

    def owned(self, domid: int) -> int:
        extra = self.tx.owned[domid] if self.tx is not None else 0
        return self.store._owned[domid] + extra

    def changed(self, path: str, before: Mapping[str, Node], *, recursive: bool = False) -> None:
        """A node changed: fire watches now, or at commit for a transaction (xenstore.txt:
        "Changes made in transactions cause an event only if and when committed")."""
        if self.tx is not None:
            self.tx.events.setdefault((path, recursive), None)
        else:
            self.store._fire(path, before, recursive=recursive)


# --- Connections ------------------------------------------------------------------------


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
        self._watches: list[_Watch] = []
        self._initial_events: list[_Watch] = []  # a new watch's first event follows the ack
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


# --- The store --------------------------------------------------------------------------


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


def _escape(value: bytes) -> str:
    out = []
    for b in value:
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


class Xenstore:
    """The store daemon's state and operations.  ``Xenstore()`` starts with ``/`` and
    domain 0's home, as xenstored and the boot scripts leave it."""

    def __init__(self, *, quota: Quota | None = None, dom0_name: str = "Domain-0") -> None:
        self.quota = quota or Quota()
        self._gen = 0
        self._nodes: dict[str, Node] = {"/": Node(b"", (Perm("n", 0),))}
        self._owned: Counter[int] = Counter({0: 1})
        # Permissions of the special watch paths: only privileged watchers get their events
        # unless domain 0 grants a domain read on them (xenstore.txt, since XSA-115).
        self._special: dict[str, tuple[Perm, ...]] = {p: (Perm("n", 0),) for p in SPECIAL_PATHS}
        self._watches: list[_Watch] = []  # in registration order: events go out in this order
        self._transactions: dict[int, _Transaction] = {}
        self._next_tx = 1
        self._connections: list[Connection] = []
        self._local: dict[int, Connection] = {}  # the Python API's connection per domid
        self._introduced: dict[int, IntroducedDomain] = {}
        self._callbacks: deque[tuple[WatchCallback, str, str]] = deque()
        self._running_callbacks = False
        self.callback_errors: list[tuple[str, BaseException]] = []  # (token, exception)
        self.internal_errors: list[str] = []  # bugs caught while serving a client (EIO)
        self.log: list[str] = []  # XS_CONTROL "print"
        self.introduce_domain(0, dom0_name)

    # --- Clients ------------------------------------------------------------------------

    def connection(self, domid: int) -> Connection:
        """A new wire connection for ``domid`` (its store ring, or a dom0 tool's socket)."""
        if domid != 0 and domid not in self._introduced:
            raise XenstoreError("ENOENT", f"domain {domid} has not been introduced")
        conn = Connection(self, domid)
        self._connections.append(conn)
        return conn

    def _local_conn(self, domid: int) -> Connection:
        conn = self._local.get(domid)
        if conn is None:
            conn = self._local[domid] = Connection(self, domid)
        return conn

    def _forget(self, conn: Connection) -> None:
        """A connection is gone: its watches and transactions go with it."""
        self._watches = [w for w in self._watches if w.conn is not conn]
        conn._watches.clear()
        for tx_id in [t for t, tx in self._transactions.items() if tx.conn is conn]:
            del self._transactions[tx_id]
        if conn in self._connections:
            self._connections.remove(conn)
        if self._local.get(conn.domid) is conn:
            del self._local[conn.domid]

    def _next_gen(self) -> int:
        self._gen += 1
        return self._gen

    # --- Tree operations (shared by the wire protocol and the Python API) ---------------

    def _space(self, conn: Connection, tx_id: int) -> _Space:
        if tx_id == 0:
            return _Space(self, None)
        tx = self._transactions.get(tx_id)
        if tx is None or tx.conn is not conn:
            raise XenstoreError("ENOENT", f"no transaction {tx_id}")
        return _Space(self, tx)

    def _get(self, space: _Space, conn: Connection, path: str, need: str) -> Node:
        """xenstored's ``get_node``: the node, if ``conn`` may ``need`` ("r" or "w") it.

        A missing node is ENOENT only if its nearest existing ancestor would grant the same
        access; otherwise EACCES, so that the error tells nothing about a node the caller may
        not see (``errno_from_parents``).
        """
        node = space.get(path)
        if node is not None:
            if need in access(node.perms, conn.domid):
                return node
            raise XenstoreError("EACCES", path)
        ancestor = self._nearest(space, path)
        if need in access(ancestor.perms, conn.domid):
            raise XenstoreError("ENOENT", path)
        raise XenstoreError("EACCES", path)

    def _nearest(self, space: _Space, path: str) -> Node:
        while True:
            path = _parent(path)
            node = space.get(path)
            if node is not None:
                return node

    def _read(self, conn: Connection, tx_id: int, path: str) -> bytes:
        space = self._space(conn, tx_id)
        return self._get(space, conn, canonical_path(path, conn.domid), "r").value

    def _directory(self, conn: Connection, tx_id: int, path: str) -> list[str]:
        space = self._space(conn, tx_id)
        return sorted(self._get(space, conn, canonical_path(path, conn.domid), "r").children)

    def _write(self, conn: Connection, tx_id: int, path: str, value: bytes) -> None:
        if len(value) > xs.XENSTORE_PAYLOAD_MAX:
            raise XenstoreError("E2BIG", f"{len(value)}-byte value")
        space = self._space(conn, tx_id)
        path = canonical_path(path, conn.domid)
        try:
            node = self._get(space, conn, path, "w")
        except XenstoreError as err:
            if err.errno != "ENOENT":
                raise
            self._create(space, conn, path, value)
        else:
            new = replace(node, value=value)
            self._check_size(conn, new)
            space.put(path, new)
        space.changed(path, {})

    def _mkdir(self, conn: Connection, tx_id: int, path: str) -> None:
        space = self._space(conn, tx_id)
        path = canonical_path(path, conn.domid)
        try:
            self._get(space, conn, path, "w")  # it exists: fine, and no event
        except XenstoreError as err:
            if err.errno != "ENOENT":
                raise
            self._create(space, conn, path, b"")
            space.changed(path, {})

    def _create(self, space: _Space, conn: Connection, path: str, value: bytes) -> None:
        """Create ``path`` and its missing parents (xenstore.txt: "WRITE creates any missing
        parent paths, with empty values").  The caller has checked write access on the
        nearest existing ancestor.  Each new node copies its parent's permissions, and an
        unprivileged creator becomes its owner — xenstored's ``construct_node``: "Inherit
        permissions, except unprivileged domains own what they create"."""
        missing = [path]
        while (parent := space.get(_parent(missing[-1]))) is None:
            missing.append(_parent(missing[-1]))
        parent_path = _parent(missing[-1])
        if not conn.privileged:
            if space.owned(conn.domid) + len(missing) > self.quota.nodes_per_domain:
                raise XenstoreError("ENOSPC", f"domain {conn.domid} owns too many nodes")
            grown = replace(parent, children=parent.children | {_basename(missing[-1])})
            self._check_size(conn, grown)
            self._check_size(conn, Node(value, parent.perms))
        for name in reversed(missing):
            perms = parent.perms
            if not conn.privileged:
                perms = (Perm(perms[0].letter, conn.domid), *perms[1:])
            space.put(parent_path, replace(parent, children=parent.children | {_basename(name)}))
            space.put(name, Node(value if name == path else b"", perms))
            parent_path, parent = name, space.nodes[name]

    def _check_size(self, conn: Connection, node: Node) -> None:
        if not conn.privileged and node.size > self.quota.entry_size:
            raise XenstoreError("ENOSPC", f"a {node.size}-byte node exceeds the entry quota")

    def _rm(self, conn: Connection, tx_id: int, path: str) -> None:
        space = self._space(conn, tx_id)
        path = canonical_path(path, conn.domid)
        try:
            node = self._get(space, conn, path, "w")
        except XenstoreError as err:
            # xenstore.txt: "It is not an error if <path> does not exist, but it _is_ an error
            # if <path>'s immediate parent does not exist either" (C xenstored's do_rm too).
            if err.errno == "ENOENT" and path != "/" and space.get(_parent(path)) is not None:
                return
            raise
        if path == "/":
            raise XenstoreError("EINVAL", "cannot remove /")
        removed: dict[str, Node] = {}
        stack = [(path, node)]
        while stack:  # iterative: a guest can build a path 1500 levels deep
            p, n = stack.pop()
            removed[p] = n
            stack.extend((_join(p, c), space.nodes[_join(p, c)]) for c in n.children)
        for p in removed:
            space.delete(p)
        parent = space.get(_parent(path))
        assert parent is not None
        space.put(_parent(path), replace(parent, children=parent.children - {_basename(path)}))
        space.changed(path, removed, recursive=True)

    def _get_perms(self, conn: Connection, tx_id: int, path: str) -> list[str]:
        if path in self._special:
            perms = self._special[path]
            if "r" not in access(perms, conn.domid):
                raise XenstoreError("EACCES", path)
        else:
            space = self._space(conn, tx_id)
            perms = self._get(space, conn, canonical_path(path, conn.domid), "r").perms
        return [str(p) for p in perms]

    def _set_perms(self, conn: Connection, tx_id: int, path: str, entries: Sequence[str]) -> None:
        perms = parse_perms(entries)
        if path in self._special:
            self._check_owner(conn, self._special[path], perms, path)
            self._special[path] = perms
            return
        space = self._space(conn, tx_id)
        path = canonical_path(path, conn.domid)
        node = self._get(space, conn, path, "w")
        self._check_owner(conn, node.perms, perms, path)
        space.put(path, replace(node, perms=perms))
        # xenstore.txt: a permissions change is a modification; the old permissions count
        # when deciding who may hear of it (xenstored's fire_watches(..., &old_perms)).
        space.changed(path, {path: node})

    @staticmethod
    def _check_owner(conn: Connection, old: tuple[Perm, ...], new: tuple[Perm, ...], path: str):
        """do_set_perms: "We must own node to do this (tools can do this too)", and
        "Unprivileged domains may not change the owner"."""
        if conn.privileged:
            return
        if old[0].domid != conn.domid:
            raise XenstoreError("EACCES", f"{path} is not owned by domain {conn.domid}")
        if new[0].domid != conn.domid:
            raise XenstoreError("EPERM", "an unprivileged domain may not give a node away")

    # --- Watches ------------------------------------------------------------------------

    def _watch(
        self, conn: Connection, path: str, token: str, callback: WatchCallback | None
    ) -> _Watch:
        if "\0" in path or "\0" in token:
            raise XenstoreError("EINVAL", "NUL in a watch path or token")
        if path.startswith("@"):  # "<wspecial> may have any syntax"
            wpath, prefix_len = path, 0
        else:
            wpath = canonical_path(path, conn.domid)
            prefix_len = 0 if path.startswith("/") else len(domain_path(conn.domid)) + 1
        if any(w.path == wpath and w.token == token for w in conn._watches):
            raise XenstoreError("EEXIST", f"already watching {wpath} with that token")
        if not conn.privileged and len(conn._watches) >= self.quota.watches_per_connection:
            raise XenstoreError("E2BIG", f"domain {conn.domid} has too many watches")
        watch = _Watch(conn, wpath, token, prefix_len, callback)
        conn._watches.append(watch)
        self._watches.append(watch)
        return watch

    def _unwatch(self, conn: Connection, path: str, token: str) -> None:
        wpath = path if path.startswith("@") else canonical_path(path, conn.domid)
        for watch in conn._watches:
            if watch.path == wpath and watch.token == token:
                conn._watches.remove(watch)
                self._watches.remove(watch)
                return
        raise XenstoreError("ENOENT", f"no watch on {wpath} with that token")

    def _fire(self, path: str, before: Mapping[str, Node], *, recursive: bool) -> None:
        """Tell every watch that ``path`` changed (xenstore.txt, WATCH).  The event path
        matches a watch if it is a child of the watched path; and when a subtree was
        removed, a watch inside it hears of it with its own path ("if the event was the
        recursive removal of a parent of <wpath>, <epath> is just <wpath>")."""
        for watch in list(self._watches):
            if watch.path.startswith("@"):
                continue
            if is_child(path, watch.path):
                epath = path
            elif recursive and is_child(watch.path, path):
                epath = watch.path
            else:
                continue
            if watch.conn.privileged or self._may_see(watch.conn.domid, epath, before):
                self._deliver(watch, epath)

    def _may_see(self, domid: int, path: str, before: Mapping[str, Node]) -> bool:
        """Whether a watcher may hear that ``path`` changed.  xenstore.txt asks that
        watches respect permissions; as C xenstored's ``watch_permitted``, the node or its
        parent must be readable — now, or before the change (a node just removed, or whose
        permissions just changed, is judged by what it was too)."""
        for p in (path, _parent(path)):
            for tree in (self._nodes, before):
                node = tree.get(p)
                if node is not None and "r" in access(node.perms, domid):
                    return True
        return False

    def _fire_special(self, name: str) -> None:
        perms = self._special[name]
        for watch in list(self._watches):
            if watch.path == name and "r" in access(perms, watch.conn.domid):
                self._deliver(watch, name)

    def _deliver(self, watch: _Watch, epath: str) -> None:
        # "Iff <wpath> for the watch was specified as a relative pathname, the <epath> path
        # will also be relative."
        epath = epath[watch.prefix_len :]
        if watch.callback is None:
            watch.conn._event(epath, watch.token)
            return
        # Python watchers run after the change is complete, one at a time, in order; a
        # callback that writes to the store queues its own events behind the current ones.
        self._callbacks.append((watch.callback, epath, watch.token))
        if self._running_callbacks:
            return
        self._running_callbacks = True
        try:
            while self._callbacks:
                callback, p, token = self._callbacks.popleft()
                try:
                    callback(p, token)
                except Exception as exc:  # a watcher's bug must not break the daemon
                    self.callback_errors.append((token, exc))
        finally:
            self._running_callbacks = False

    # --- Transactions -------------------------------------------------------------------

    def _transaction_start(self, conn: Connection) -> int:
        mine = sum(1 for tx in self._transactions.values() if tx.conn is conn)
        if not conn.privileged and mine >= self.quota.transactions_per_connection:
            raise XenstoreError("ENOSPC", f"domain {conn.domid} has too many transactions")
        while self._next_tx in self._transactions:
            self._next_tx = self._next_tx % 0xFFFFFFFF + 1
        tx_id = self._next_tx
        self._next_tx = self._next_tx % 0xFFFFFFFF + 1  # ids are u32 and never 0
        self._transactions[tx_id] = _Transaction(tx_id, conn, dict(self._nodes))
        return tx_id

    def _transaction_end(self, conn: Connection, tx_id: int, commit: bool) -> None:
        tx = self._space(conn, tx_id).tx
        if tx is None:
            raise XenstoreError("ENOENT", "TRANSACTION_END needs a transaction id")
        del self._transactions[tx_id]  # "After this request the tx_id is no longer valid"
        if not commit:
            return
        for path, gen in tx.seen.items():
            live = self._nodes.get(path)
            if (live.gen if live is not None else None) != gen:
                raise XenstoreError("EAGAIN", f"{path} changed during the transaction")
        if not conn.privileged:
            for domid, delta in tx.owned.items():
                if delta > 0 and self._owned[domid] + delta > self.quota.nodes_per_domain:
                    raise XenstoreError("ENOSPC", f"domain {domid} would own too many nodes")
        before = dict(self._nodes)
        live_space = _Space(self, None)
        for path in sorted(tx.written):
            if path in self._nodes:
                live_space.delete(path)
            if path in tx.nodes:
                live_space.put(path, tx.nodes[path])
        for path, recursive in tx.events:
            self._fire(path, before, recursive=recursive)

    # --- Domains ------------------------------------------------------------------------

    def _introduce(self, domid: int, store_mfn: int | None, store_evtchn: int | None) -> None:
        """XS_INTRODUCE: start talking to a domain.  A second introduction only updates the
        ring details, as xenstored re-binds the event channel without a new event."""
        again = domid in self._introduced
        self._introduced[domid] = IntroducedDomain(domid, store_mfn, store_evtchn)
        if not again:
            self._fire_special(xs.XS_SPECIAL_INTRODUCE_DOMAIN)

    def _disconnect(self, domid: int) -> None:
        for conn in [c for c in self._connections if c.domid == domid]:
            conn._break(f"domain {domid} released")
        if domid in self._local:
            self._forget(self._local[domid])

    def _release(self, domid: int) -> None:
        """XS_RELEASE: stop talking to a domain: its connections, watches and transactions
        go, and @releaseDomain fires."""
        self._disconnect(domid)
        del self._introduced[domid]
        self._fire_special(xs.XS_SPECIAL_RELEASE_DOMAIN)

    # --- The wire protocol --------------------------------------------------------------

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

    # --- Python API for domain 0 (and for code acting as another domain) ----------------

    def read(self, path: str, *, domid: int = 0, tx: int = 0) -> bytes:
        return self._read(self._local_conn(domid), tx, path)

    def write(self, path: str, value: bytes | str, *, domid: int = 0, tx: int = 0) -> None:
        data = value.encode() if isinstance(value, str) else bytes(value)
        self._write(self._local_conn(domid), tx, path, data)

    def mkdir(self, path: str, *, domid: int = 0, tx: int = 0) -> None:
        self._mkdir(self._local_conn(domid), tx, path)

    def rm(self, path: str, *, domid: int = 0, tx: int = 0) -> None:
        self._rm(self._local_conn(domid), tx, path)

    def directory(self, path: str, *, domid: int = 0, tx: int = 0) -> list[str]:
        return self._directory(self._local_conn(domid), tx, path)

    def exists(self, path: str, *, domid: int = 0) -> bool:
        try:
            self.read(path, domid=domid)
        except XenstoreError as err:
            if err.errno == "ENOENT":
                return False
            raise
        return True

    def get_perms(self, path: str, *, domid: int = 0, tx: int = 0) -> list[str]:
        return self._get_perms(self._local_conn(domid), tx, path)

    def set_perms(
        self, path: str, perms: Sequence[str | Perm], *, domid: int = 0, tx: int = 0
    ) -> None:
        self._set_perms(self._local_conn(domid), tx, path, [str(p) for p in perms])

    def watch(self, path: str, token: str, callback: WatchCallback, *, domid: int = 0) -> None:
        """Call ``callback(path, token)`` now (as xenstored fires every new watch once) and
        after every change to ``path`` or below that ``domid`` may see."""
        watch = self._watch(self._local_conn(domid), path, token, callback)
        self._deliver(watch, watch.path)

    def unwatch(self, path: str, token: str, *, domid: int = 0) -> None:
        self._unwatch(self._local_conn(domid), path, token)

    def transaction_start(self, *, domid: int = 0) -> int:
        return self._transaction_start(self._local_conn(domid))

    def transaction_end(self, tx: int, commit: bool = True, *, domid: int = 0) -> None:
        """Commit (or abort) ``tx``; a conflicting commit raises XenstoreError("EAGAIN")."""
        self._transaction_end(self._local_conn(domid), tx, commit)

    @staticmethod
    def get_domain_path(domid: int) -> str:
        return domain_path(domid)

    def is_introduced(self, domid: int) -> bool:
        return domid in self._introduced

    def introduced_domains(self) -> dict[int, IntroducedDomain]:
        return dict(self._introduced)

    # --- Domain lifecycle (what xl and xenstored do together) ---------------------------

    def introduce_domain(
        self,
        domid: int,
        name: str,
        *,
        store_mfn: int | None = None,
        store_evtchn: int | None = None,
    ) -> None:
        """Write a new domain's standard keys and start serving it.

        The home ``/local/domain/<domid>`` is owned by the domain (``n<domid>``), as Xen
        3.0's xend set it up, so that the guest may create what it likes under it; the keys
        the toolstack vouches for — ``name``, ``domid``, ``vm``, ``store/*`` — are domain
        0's and only readable by the guest (``n0``, ``r<domid>``), as xl writes them, so a
        guest cannot rename itself.  ``device``, ``control`` and ``data`` are made for the
        drivers and tools to meet in.  ``/vm/<uuid>`` holds the name and uuid.  Given the
        store ring's frame and event channel, ``store/ring-ref`` and ``store/port`` record
        them, as xl does.
        """
        if domid in self._introduced:
            raise XenstoreError("EEXIST", f"domain {domid} is already introduced")
        if not 0 <= domid < DOMID_FIRST_RESERVED:
            raise XenstoreError("EINVAL", f"cannot introduce domain {domid}")
        home = domain_path(domid)
        uuid = f"00000000-0000-0000-0000-{domid:012x}"  # deterministic, uuid-shaped
        vm = f"/vm/{uuid}"
        readonly = ["n0"] if domid == 0 else ["n0", f"r{domid}"]
        for stale in (home, vm):  # xl: rm, then mknod the fresh node
            if self._nodes.get(_parent(stale)) is not None:
                self.rm(stale)
        self.mkdir(home)
        self.set_perms(home, [f"n{domid}"])
        self.mkdir(vm)
        self.set_perms(vm, readonly)
        self.write(f"{vm}/uuid", uuid)
        self.write(f"{vm}/name", name)
        if store_mfn is not None and store_evtchn is not None:
            self.mkdir(f"{home}/store")
            self.set_perms(f"{home}/store", readonly)
            self.write(f"{home}/store/ring-ref", str(store_mfn))
            self.write(f"{home}/store/port", str(store_evtchn))
        for key, value in (("name", name), ("domid", str(domid)), ("vm", vm)):
            self.write(f"{home}/{key}", value)
            self.set_perms(f"{home}/{key}", readonly)
        for key in ("device", "control", "data"):
            self.mkdir(f"{home}/{key}")
        self._introduce(domid, store_mfn, store_evtchn)

    def release_domain(self, domid: int) -> None:
        """The domain is gone: drop its connections (and so its watches and transactions),
        remove its home and /vm entry (watchers, e.g. back ends, hear of it), then fire
        @releaseDomain."""
        if domid == 0:
            raise XenstoreError("EINVAL", "domain 0 cannot be released")
        if domid not in self._introduced:
            raise XenstoreError("ENOENT", f"domain {domid} is not introduced")
        self._disconnect(domid)
        home = domain_path(domid)
        vm = self._nodes.get(f"{home}/vm")
        if vm is not None and vm.value.startswith(b"/vm/"):
            self.rm(vm.value.decode("latin-1"))
        self.rm(home)
        self._release(domid)

    # --- Inspection ---------------------------------------------------------------------

    def dump(self, path: str = "/", *, perms: bool = False) -> str:
        """The tree below ``path`` as ``xenstore-ls`` prints it: one node per line, one
        space of indent per level, ``name = "value"``, children sorted; with ``perms``,
        each node's permissions too.  Deterministic, for notebooks and the CLI."""
        path = canonical_path(path, 0)
        if path not in self._nodes:
            raise XenstoreError("ENOENT", path)
        lines: list[str] = []
        stack = [(path, -1)]
        while stack:  # iterative: paths may be very deep
            p, depth = stack.pop()
            node = self._nodes[p]
            if depth >= 0:
                line = f'{" " * depth}{_basename(p)} = "{_escape(node.value)}"'
                if perms:
                    line += f"  ({','.join(str(x) for x in node.perms)})"
                lines.append(line)
            stack.extend((_join(p, c), depth + 1) for c in sorted(node.children, reverse=True))
        return "".join(line + "\n" for line in lines)

    def check(self) -> list[str]:
        """The store's invariants (an empty list when all hold): every child listed exists,
        every node is listed by its parent, and the per-owner counts are right."""
        problems = []
        for path, node in self._nodes.items():
            for child in node.children:
                if _join(path, child) not in self._nodes:
                    problems.append(f"{path} lists missing child {child}")
            if path != "/":
                parent = self._nodes.get(_parent(path))
                if parent is None or _basename(path) not in parent.children:
                    problems.append(f"{path} is not listed by its parent")
        counted = Counter(node.perms[0].domid for node in self._nodes.values())
        if +counted != +self._owned:
            problems.append(f"owner counts {dict(+self._owned)} != {dict(counted)}")
        return problems


_WIRE: dict[int, Callable[[Xenstore, Connection, int, bytes], bytes]] = {
    xs.XS_CONTROL: Xenstore._wire_control,
    xs.XS_DIRECTORY: Xenstore._wire_directory,
    xs.XS_READ: Xenstore._wire_read,
    xs.XS_GET_PERMS: Xenstore._wire_get_perms,
    xs.XS_WATCH: Xenstore._wire_watch,
    xs.XS_UNWATCH: Xenstore._wire_unwatch,
    xs.XS_TRANSACTION_START: Xenstore._wire_transaction_start,
    xs.XS_TRANSACTION_END: Xenstore._wire_transaction_end,
    xs.XS_INTRODUCE: Xenstore._wire_introduce,
    xs.XS_RELEASE: Xenstore._wire_release,
    xs.XS_GET_DOMAIN_PATH: Xenstore._wire_get_domain_path,
    xs.XS_WRITE: Xenstore._wire_write,
    xs.XS_MKDIR: Xenstore._wire_mkdir,
    xs.XS_RM: Xenstore._wire_rm,
    xs.XS_SET_PERMS: Xenstore._wire_set_perms,
    xs.XS_IS_DOMAIN_INTRODUCED: Xenstore._wire_is_domain_introduced,
}
"""The dispatch table, one handler per request type (xenstored's ``wire_funcs``).
XS_WATCH_EVENT and XS_ERROR are replies only; sent as requests they get ENOSYS, as do the
later additions xenlab does not implement (RESUME, SET_TARGET, RESET_WATCHES,
DIRECTORY_PART)."""


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
