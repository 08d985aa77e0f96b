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

The engine is split by mechanism: ``xs_paths`` (path rules, ``XenstoreError``), ``xs_perms``
(permissions), ``xs_watch`` (watches), ``xs_transaction`` (transactions and generations) and
``xs_wire`` (``xsd_sockmsg`` messages, ``Connection`` and the request handlers).  This module
holds the tree and the ``Xenstore`` class that puts them together, and re-exports the names
other modules use.

Protocol and semantics follow ``docs/misc/xenstore.txt`` and ``io/xs_wire.h``; where the
document is vague, C xenstored (``tools/xenstore/xenstored_core.c``, ``xenstored_watch.c``)
decides, and the comments say so.  xenlab is deterministic: children are listed sorted, watch
events go out in registration order, transaction ids count up from 1.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, replace

from xenlab.abi import xenstore as xs
from xenlab.dom0.xs_paths import (
    DOMID_FIRST_RESERVED,
    XenstoreError,
    basename,
    canonical_path,
    domain_path,
    is_child,
    join_path,
    parent_of,
)
from xenlab.dom0.xs_perms import Perm, access, parse_perms
from xenlab.dom0.xs_transaction import Space, Transaction, XenstoreTransactions
from xenlab.dom0.xs_watch import Watch, WatchCallback, XenstoreWatches
from xenlab.dom0.xs_wire import Connection, XenstoreWire, decode_messages, encode_message

__all__ = [
    "DOMID_FIRST_RESERVED",
    "SPECIAL_PATHS",
    "Connection",
    "IntroducedDomain",
    "Node",
    "Perm",
    "Quota",
    "WatchCallback",
    "Xenstore",
    "XenstoreError",
    "access",
    "canonical_path",
    "decode_messages",
    "domain_path",
    "encode_message",
    "is_child",
    "parse_perms",
]

SPECIAL_PATHS = (xs.XS_SPECIAL_INTRODUCE_DOMAIN, xs.XS_SPECIAL_RELEASE_DOMAIN)


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


class Xenstore(XenstoreWire, XenstoreWatches, XenstoreTransactions):
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
        self._watches: list[Watch] = []  # in registration order: events go out in this order
        self._transactions: dict[int, Transaction] = {}
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

    # --- Tree operations (shared by the wire protocol and the Python API) ---------------

    def _get(self, space: Space, conn: Connection, path: str, need: str) -> Node:
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

    def _nearest(self, space: Space, path: str) -> Node:
        while True:
            path = parent_of(path)
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

    def _create(self, space: Space, conn: Connection, path: str, value: bytes) -> None:
        """Create ``path`` and its missing parents (xenstore.txt: "WRITE creates any missing
        parent paths, with empty values").  The caller has checked write access on the
        nearest existing ancestor.  Each new node copies its parent's permissions, and an
        unprivileged creator becomes its owner — xenstored's ``construct_node``: "Inherit
        permissions, except unprivileged domains own what they create"."""
        missing = [path]
        while (parent := space.get(parent_of(missing[-1]))) is None:
            missing.append(parent_of(missing[-1]))
        parent_path = parent_of(missing[-1])
        if not conn.privileged:
            if space.owned(conn.domid) + len(missing) > self.quota.nodes_per_domain:
                raise XenstoreError("ENOSPC", f"domain {conn.domid} owns too many nodes")
            grown = replace(parent, children=parent.children | {basename(missing[-1])})
            self._check_size(conn, grown)
            self._check_size(conn, Node(value, parent.perms))
        for name in reversed(missing):
            perms = parent.perms
            if not conn.privileged:
                perms = (Perm(perms[0].letter, conn.domid), *perms[1:])
            space.put(parent_path, replace(parent, children=parent.children | {basename(name)}))
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
            if err.errno == "ENOENT" and path != "/" and space.get(parent_of(path)) is not None:
                return
            raise
        if path == "/":
            raise XenstoreError("EINVAL", "cannot remove /")
        removed: dict[str, Node] = {}
        stack = [(path, node)]
        while stack:  # iterative: a guest can build a path 1500 levels deep
            p, n = stack.pop()
            removed[p] = n
            stack.extend((join_path(p, c), space.nodes[join_path(p, c)]) for c in n.children)
        for p in removed:
            space.delete(p)
        parent = space.get(parent_of(path))
        assert parent is not None
        space.put(parent_of(path), replace(parent, children=parent.children - {basename(path)}))
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
            if self._nodes.get(parent_of(stale)) is not None:
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
                line = f'{" " * depth}{basename(p)} = "{_escape(node.value)}"'
                if perms:
                    line += f"  ({','.join(str(x) for x in node.perms)})"
                lines.append(line)
            stack.extend((join_path(p, c), depth + 1) for c in sorted(node.children, reverse=True))
        return "".join(line + "\n" for line in lines)

    def check(self) -> list[str]:
        """The store's invariants (an empty list when all hold): every child listed exists,
        every node is listed by its parent, and the per-owner counts are right."""
        problems = []
        for path, node in self._nodes.items():
            for child in node.children:
                if join_path(path, child) not in self._nodes:
                    problems.append(f"{path} lists missing child {child}")
            if path != "/":
                parent = self._nodes.get(parent_of(path))
                if parent is None or basename(path) not in parent.children:
                    problems.append(f"{path} is not listed by its parent")
        counted = Counter(node.perms[0].domid for node in self._nodes.values())
        if +counted != +self._owned:
            problems.append(f"owner counts {dict(+self._owned)} != {dict(counted)}")
        return problems
