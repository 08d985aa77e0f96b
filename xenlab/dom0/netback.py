"""netback: domain 0's end of one guest's virtual network interface (a VIF, paper §3.3.5).

"A VIF looks somewhat like a modern network interface card: there are two I/O rings of
buffer descriptors, one for transmit and one for receive."  This module is one VIF's back
end: the xenstore handshake that connects it, taking packets off the transmit ring, and
receiving packets into the guest by **page flipping**.  *Which* packet goes where is the
virtual firewall-router's business (``vfr.py``), *when* is the network's (``network.py``).

Transmit.  A ``netif_tx_request`` names a frame of the guest's, an offset and a size.  The
paper: "to ensure that the guest cannot change the packet after the rule check, domain 0
copies only the header" — :meth:`Vif.next_tx` copies the headers (``HEADER_COPY`` bytes) for
the VFR, and :meth:`Vif.read_tx` reads the rest of the packet only when it is delivered.
Each request is answered: ``NETIF_RSP_OKAY`` once delivered (or handed to a VIF that then
had to drop it), ``NETIF_RSP_DROPPED`` when the VFR dropped it — xenlab's choice: Xen's
netback answers OKAY and drops silently — and ``NETIF_RSP_ERROR`` for a request that breaks
the rules (a frame it does not own, a size that leaves the page, fragments).

Receive.  The guest posts ``netif_rx_request`` s, each naming a free page it gives up (its
``gref`` is the page's machine frame number; Xen 3 names a grant entry marked
``GTF_accept_transfer``, the 2003 Xen a "PTE to swap").  For each packet domain 0 takes a
page of its own, writes the packet into it, and *exchanges* it for the posted page
(``xen.transfer.exchange_frames``: the posted page must hold no mapping or reference, else
the request is refused with ``NETIF_RSP_ERROR``).  The guest learns the machine frame of
its new page from the **transfer table**, a page it shares at ``rx-transfer-ref``: one
``uint32_t`` per request id, written before the response (the role of the grant entry's
``frame`` field in Xen 3, of ``netif_rx_response.addr`` in Xen 2.0; xenlab's ring layout
is Xen 3's, whose response has no room for it).  The guest then updates its p2m and the
M2P (``MMU_MACHPHYS_UPDATE``) and maps the page.  "If no receive descriptor is available
the packet is dropped" — and counted.

The handshake is Xen 3's (``io/xenbus.h`` states), as in ``blkback``: the toolstack writes
both directories, the back end waits in InitWait; the front end writes ``tx-ring-ref``,
``rx-ring-ref``, ``rx-transfer-ref`` and ``event-channel`` (one port for both rings) and
switches to Initialised; the watch on its ``state`` connects: every page must be the
guest's and able to take the writable type, and domain 0 holds a page and writable-type
reference on each while connected (``xen.foreign_mappings``), as a writable grant mapping
would.  A hostile front end — impossible ring indices, foreign frames, ids outside the
transfer table — gets an error response, or is disconnected with the reason logged.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from xenlab.abi import ring as abi
from xenlab.abi.layout import PAGE_SIZE
from xenlab.dom0.domain0 import ControlDomain
from xenlab.dom0.packet import ETH_FRAME_MAX, ETH_HLEN, HEADER_COPY, ip_str, mac_str
from xenlab.dom0.xenbus import XenbusBackend, XenbusState
from xenlab.dom0.xenstore import Xenstore
from xenlab.xen.domain import Domain
from xenlab.xen.memory import alloc_domheap_pages
from xenlab.xen.ring import BackRing, RingError, SharedRing
from xenlab.xen.transfer import exchange_frames, transfer_refused

_XFER = struct.Struct("<I")  # one transfer-table entry: the new frame of request id


@dataclass
class VifStats:
    """Per-VIF counters (what a lab plots).  "tx" is what the guest sent, "rx" what it
    received, as ``ifconfig`` in the guest would say."""

    tx_packets: int = 0  # taken off the transmit ring and delivered
    tx_bytes: int = 0
    tx_dropped: int = 0  # dropped by the VFR (anti-spoofing, firewall, no route)
    tx_errors: int = 0  # requests refused (answered NETIF_RSP_ERROR)
    rx_packets: int = 0  # received into the guest (each one page flip)
    rx_bytes: int = 0
    rx_flips: int = 0  # pages exchanged
    rx_dropped: int = 0  # no receive request posted: the paper's drop
    rx_errors: int = 0  # a posted page refused (still mapped, not the guest's ...)
    kicks: int = 0  # events from the front end
    notifications: int = 0  # events to the front end


@dataclass(frozen=True)
class TxPacket:
    """A checked transmit request: its id, where its data is, and the copied headers."""

    vif: Vif
    id: int
    mfn: int
    offset: int
    size: int
    headers: bytes


@dataclass
class _Connection:
    tx: BackRing
    rx: BackRing
    transfer_mfn: int
    port: int
    frames: tuple[int, ...]  # held while connected


class Vif(XenbusBackend):
    """Domain 0's end of one VIF of one domain (Xen's ``netif_t`` + ``backend_info``)."""

    kind = "vif"
    driver = "netback"

    def __init__(
        self,
        dom0: ControlDomain,
        store: Xenstore,
        domain: Domain,
        *,
        devid: int,
        mac: int,
        ip: int,
        bridge: str,
        kick: Callable[[Vif], None],
        on_gone: Callable[[Vif], None],
    ) -> None:
        super().__init__(dom0, store, domain, devid, kick, on_gone)
        self.name = f"vif{self.domid}.{devid}"  # Xen's name for the back end's interface
        self.mac = mac
        self.ip = ip
        self.bridge = bridge
        self.stats = VifStats()
        self.conn: _Connection | None = None
        self.host_port: int | None = None  # its socket on the host bridge (bridge.py)
        # mac and ip go to both directories: the guest's minimal stack has no ARP and no
        # DHCP, so it takes its addresses from here.
        addresses = [("handle", str(devid)), ("mac", mac_str(mac)), ("ip", ip_str(ip))]
        self._publish(
            addresses,
            [*addresses, ("bridge", bridge), ("feature-rx-flip", "1"), ("feature-rx-copy", "0")],
        )

    @property
    def label(self) -> str:
        return self.name

    # ------------------------------------------------------------------ connecting
    def _connect(self) -> None:
        keys = ("tx-ring-ref", "rx-ring-ref", "rx-transfer-ref", "event-channel")
        values = [self._read_frontend(key) for key in keys]
        if any(v is None for v in values):
            missing = [k for k, v in zip(keys, values, strict=True) if v is None]
            self._fail(f"{', '.join(missing)} missing or not a number")
            return
        tx_mfn, rx_mfn, xfer_mfn, port = (int(v) for v in values)  # type: ignore[arg-type]
        frames = (tx_mfn, rx_mfn, xfer_mfn)
        if len(set(frames)) != 3:
            self._fail("the two rings and the transfer table need three different pages")
            return
        held: list[int] = []
        for key, mfn in zip(keys[:3], frames, strict=True):
            why = self._hold_frame(mfn)
            if why is not None:
                for taken in held:
                    self._release_frame(taken)
                self._fail(f"{key} {mfn:#x} refused: {why}")
                return
            held.append(mfn)
        try:
            local = self.dom0.bind(self.domid, port, self._on_event)
        except ValueError as exc:
            for taken in held:
                self._release_frame(taken)
            self._fail(f"event-channel {port}: {exc}")
            return
        memory = self.xen.machine.memory
        self.conn = _Connection(
            tx=BackRing(SharedRing(memory, tx_mfn, abi.NETIF_TX_ENTRY_SIZE)),
            rx=BackRing(SharedRing(memory, rx_mfn, abi.NETIF_RX_ENTRY_SIZE)),
            transfer_mfn=xfer_mfn,
            port=local,
            frames=frames,
        )
        self._set_state(XenbusState.CONNECTED)
        self._kick(self)  # requests may already be waiting

    def disconnect(self, reason: str | None) -> None:
        """Drop the rings, the transfer table and the port; a ``reason`` is a front end's
        misbehaviour, logged."""
        conn, self.conn = self.conn, None
        if conn is not None:
            self.dom0.unbind(conn.port)
            for mfn in conn.frames:
                self._release_frame(mfn)
        if reason is not None:
            self._fail(f"disconnected: {reason}")

    def _on_event(self) -> None:
        self.stats.kicks += 1
        self._kick(self)

    def _alive(self) -> bool:
        """Connected to a domain that still exists and runs (a guest that shut down sends
        nothing more and receives nothing)."""
        if self.conn is None:
            return False
        if self.xen.domains.get(self.domid) is not self.domain:
            self.remove("the domain is gone")
            return False
        return self.domain.alive

    # ------------------------------------------------------------------ transmit
    def next_tx(self) -> TxPacket | None:
        """The next transmit request, checked, with its headers copied; None if none waits.
        Requests that break the rules are answered ``NETIF_RSP_ERROR`` on the way."""
        while self._alive():
            ring = self.conn.tx  # type: ignore[union-attr]
            try:
                if not ring.has_unconsumed_requests():
                    return None
                raw = bytes(ring.get_request())  # RING_COPY_REQUEST: check the copy only
            except RingError as exc:
                self.disconnect(str(exc))
                return None
            ring.req_cons += 1
            req = abi.NETIF_TX_REQUEST.unpack_from(raw)
            rid, mfn, offset, size = (int(req[k]) for k in ("id", "gref", "offset", "size"))
            why = self._tx_refused(mfn, offset, size, int(req["flags"]))
            if why is not None:
                self.stats.tx_errors += 1
                self.last_refusal = f"tx request {rid}: {why}"
                self.respond_tx(rid, abi.NETIF_RSP_ERROR)
                continue
            base = (mfn << 12) + offset
            view = self.xen.machine.memory.view
            headers = bytes(view[base : base + min(size, HEADER_COPY)])
            return TxPacket(self, rid, mfn, offset, size, headers)
        return None

    def _tx_refused(self, mfn: int, offset: int, size: int, flags: int) -> str | None:
        if flags & (abi.NETTXF_more_data | abi.NETTXF_extra_info):
            return "fragments and extra info are not supported"
        if not ETH_HLEN <= size <= ETH_FRAME_MAX:
            return f"size {size} (a frame is {ETH_HLEN}..{ETH_FRAME_MAX} bytes)"
        if offset + size > PAGE_SIZE:
            return f"offset {offset} + size {size} leaves the page"
        why = self._frame_refused(mfn, writable=False)
        return None if why is None else f"frame {mfn:#x}: {why}"

    def read_tx(self, packet: TxPacket) -> bytes | None:
        """The whole packet: the headers copied at the check, the rest read now (None if
        the frame is no longer the guest's)."""
        if self._frame_refused(packet.mfn, writable=False) is not None:
            return None
        base = (packet.mfn << 12) + packet.offset
        rest = self.xen.machine.memory.view[base + len(packet.headers) : base + packet.size]
        return packet.headers + bytes(rest)

    def respond_tx(self, rid: int, status: int) -> None:
        """Answer one transmit request and publish the answer (notifying if asked)."""
        conn = self.conn
        if conn is None:
            return
        try:
            slot = conn.tx.get_response()
            abi.NETIF_TX_RESPONSE.pack_into(slot, 0, id=rid, status=status)
            conn.tx.rsp_prod_pvt += 1
            notify = conn.tx.push_responses_and_check_notify()
        except RingError as exc:
            self.disconnect(str(exc))
            return
        if notify:
            self._notify()

    def more_tx(self) -> bool:
        """``RING_FINAL_CHECK_FOR_REQUESTS`` on the transmit ring: True if requests wait;
        if none do, ask the front end to notify on its next one."""
        if not self._alive():
            return False
        try:
            return self.conn.tx.final_check_for_requests()  # type: ignore[union-attr]
        except RingError as exc:
            self.disconnect(str(exc))
            return False

    # ------------------------------------------------------------------ receive
    def deliver(self, frame: bytes, pool: PagePool) -> bool:
        """Receive ``frame`` into the guest by flipping a page of ``pool`` for the next
        posted page; False (and counted) if it had to be dropped."""
        if not self._alive():
            self.stats.rx_dropped += 1
            return False
        conn = self.conn
        assert conn is not None
        ring = conn.rx
        try:
            if not ring.has_unconsumed_requests():
                self.stats.rx_dropped += 1  # "no receive descriptor: the packet is dropped"
                return False
            raw = bytes(ring.get_request())
        except RingError as exc:
            self.disconnect(str(exc))
            self.stats.rx_dropped += 1
            return False
        ring.req_cons += 1
        req = abi.NETIF_RX_REQUEST.unpack_from(raw)
        rid, posted = int(req["id"]), int(req["gref"])
        why = None
        if rid >= abi.NETIF_RX_RING_SIZE:
            why = f"id {rid} is outside the transfer table ({abi.NETIF_RX_RING_SIZE} entries)"
        elif (refused := transfer_refused(self.domain, posted)) is not None:
            why = f"posted frame {posted:#x}: {refused}"
        if why is not None:
            self.stats.rx_errors += 1
            self.last_refusal = f"rx request {rid}: {why}"
            self._respond_rx(rid, 0, abi.NETIF_RSP_ERROR)
            return False
        page = pool.take()
        pool.memory.frame(page)[: len(frame)] = frame
        rc = exchange_frames(self.domain, posted, self.dom0.domain, page)
        assert rc == 0, f"flip of {posted:#x} for {page:#x} refused after the checks: {rc}"
        pool.give(posted)
        view = self.xen.machine.memory.view
        base = (conn.transfer_mfn << 12) + 4 * rid
        _XFER.pack_into(view, base, page)  # the guest's new frame, before the response
        self.stats.rx_flips += 1
        self.stats.rx_packets += 1
        self.stats.rx_bytes += len(frame)
        self._respond_rx(rid, len(frame), abi.NETIF_RSP_OKAY)
        return True

    def _respond_rx(self, rid: int, size: int, status: int) -> None:
        conn = self.conn
        if conn is None:
            return
        try:
            slot = conn.rx.get_response()
            ok = status == abi.NETIF_RSP_OKAY
            # Positional: Record.pack_into's own ``offset`` argument would shadow the field.
            abi.NETIF_RX_RESPONSE.struct.pack_into(
                slot, 0, rid & 0xFFFF, 0, abi.NETRXF_data_validated if ok else 0,
                size if ok else status,
            )  # fmt: skip
            conn.rx.rsp_prod_pvt += 1
            notify = conn.rx.push_responses_and_check_notify()
        except RingError as exc:
            self.disconnect(str(exc))
            return
        if notify:
            self._notify()

    def _notify(self) -> None:
        if self.conn is not None:
            self.stats.notifications += 1
            self.dom0.notify(self.conn.port)

    def __repr__(self) -> str:
        state = "connected" if self.conn else self.error or "waiting"
        return f"Vif({self.name}, {mac_str(self.mac)}, {state})"


class PagePool:
    """Domain 0's own free pages that packets are received into before a flip (the 2003
    Xen received into its own pages).  Each flip takes one and gets the guest's posted page
    back, so the pool never shrinks; pages coming back are scrubbed, so no guest receives
    bytes another guest left in a page it gave up."""

    def __init__(self, dom0: Domain, count: int) -> None:
        self.memory = dom0.machine.memory
        # Domain 0's kernel is Python and has no memory of its own (max_pages 0): these
        # pages are the memory its network driver would have had.
        dom0.max_pages += count
        self.free = alloc_domheap_pages(dom0, count)

    def take(self) -> int:
        return self.free.pop()

    def give(self, mfn: int) -> None:
        self.memory.clear_frame(mfn)
        self.free.append(mfn)
