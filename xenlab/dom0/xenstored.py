"""xenstored's transport: each guest's store ring page and event channel (Xen 3).

The store itself (tree, permissions, watches, transactions, the xs_wire messages) is
:mod:`xenlab.dom0.xenstore`; this module moves bytes.  A guest writes a request into
``xenstore_domain_interface.req`` and notifies; domain 0 feeds the bytes to the guest's
connection, and copies replies and watch events into ``rsp`` as room allows — a reply may be
longer than the 1 KiB ring, so what does not fit waits for the guest to read.
"""

from __future__ import annotations

from xenlab.dom0.domain0 import ControlDomain
from xenlab.dom0.xenstore import Connection, Xenstore
from xenlab.xen.domain import Domain
from xenlab.xen.ring import ByteRing, RingError


class Xenstored:
    """The daemon: the store, and one ring connection per guest."""

    def __init__(self, dom0: ControlDomain, store: Xenstore | None = None) -> None:
        self.dom0 = dom0
        self.store = store if store is not None else Xenstore()
        self.rings: dict[int, StoreRing] = {}
        # Watch events for one guest come from another's writes (or domain 0's): after
        # every round, copy out whatever any connection has waiting.
        dom0.add_poller(self.flush_all)

    def connect(self, domain: Domain) -> StoreRing:
        ring = StoreRing(self, domain)
        self.rings[domain.domid] = ring
        return ring

    def disconnect(self, domid: int) -> None:
        ring = self.rings.pop(domid, None)
        if ring is not None:
            self.dom0.unbind(ring.port)

    def flush_all(self) -> bool:
        did = False
        for ring in self.rings.values():
            if ring.conn.has_output and ring.error is None:
                try:
                    if ring.flush():
                        self.dom0.notify(ring.port)
                        did = True
                except RingError as exc:
                    ring.fail(exc)
        return did


class StoreRing:
    """One guest's connection to the store over its ring."""

    def __init__(self, daemon: Xenstored, domain: Domain) -> None:
        self.daemon = daemon
        dom0 = self.dom0 = daemon.dom0
        store = daemon.store
        self.domain = domain
        memory = domain.machine.memory
        self.req = ByteRing.xenstore_req(memory, domain.store_mfn)
        self.rsp = ByteRing.xenstore_rsp(memory, domain.store_mfn)
        self.conn: Connection = store.connection(domain.domid)
        self.error: str | None = None
        self.port = dom0.bind(domain.domid, domain.store_port, self.service)

    def service(self) -> None:
        """Take requests, give replies (and watch events) as room allows."""
        if self.error is not None:
            return
        try:
            took = False
            while self.conn.accepting_input and self.req.queued():
                self.conn.handle(self.req.read())
                took = True
            gave = self.flush()
        except RingError as exc:
            self.fail(exc)
            return
        if took or gave:
            self.dom0.notify(self.port)

    def fail(self, exc: Exception) -> None:
        self.error = str(exc)
        self.dom0.xen.log.append(
            f"(dom0) xenstore ring of domain {self.domain.domid} disconnected: {exc}"
        )

    def flush(self) -> bool:
        """Copy waiting output into the response ring; True if any was copied."""
        gave = False
        while True:
            room = self.rsp.free()
            if not room:
                break
            data = self.conn.pending_output(room)
            if not data:
                break
            self.rsp.write(data)
            gave = True
        if self.conn.broken and self.error is None:
            self.error = self.conn.broken
        return gave
