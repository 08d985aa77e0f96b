"""blkback: domain 0's end of one guest's virtual block device (Xen 3's blkback).

Paper §3.3.6 and §3.2: a guest queues block requests in a descriptor ring shared with the
driver domain; each names the guest's own pages, which the back end reads from or writes
into directly ("zero-copy"), and every request gets a response in the same ring.  This
module is one such back end: the xenstore handshake that connects it, the ring, the checks
every request passes before any I/O, the I/O itself and the response.  *When* a request is
served — round-robin between domains, then the elevator — is ``block.BlockService``'s job.

The handshake (Xen 3's, through xenstore; ``XenbusState``): the toolstack (``block``)
writes both halves of the device's directory and this back end waits in InitWait.  The
front end writes ``ring-ref`` and ``event-channel`` and switches to Initialised; a watch
on its ``state`` calls :meth:`BlockDevice._frontend_changed`, which maps the ring, binds the
port, publishes ``sectors``/``sector-size``/``info`` and switches to Connected.  Closing or
Closed from the front end disconnects; the front end's directory vanishing (the domain was
destroyed) removes the device.

xenlab departs from Xen 3 here (the 2003 paper's design, see the I/O decisions): there are
no grant tables, so a front end names pages by **machine frame number** where Xen puts a
grant reference (``ring-ref``, each segment's ``gref``).  Domain 0 accepts a frame only if
the frame table says the guest owns it and — for a page domain 0 will write into: the ring,
and the buffers of a READ — that it can be used as a writable page (never a page table or a
descriptor table, whose contents Xen vouches for).  While connected it holds a page *and* a
writable-type reference on the ring page, as a writable grant mapping does, so the guest
can neither balloon the page away nor turn it into a page table under the back end; the
reference is recorded in ``xen.foreign_mappings`` for the invariant checker.  Data pages are
not held: each request is checked and carried out within one service round, while no guest
runs (simplified: a real back end would hold them for the duration of the DMA).

A hostile front end — lying indices, absurd segment counts, frames it does not own, sectors
beyond the end — gets ``BLKIF_RSP_ERROR`` for a bad request, or is disconnected (the reason
goes to ``xen.log``) when the ring itself cannot be trusted; nothing it writes raises out of
the service loop, reaches outside its VBD or touches another domain's memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from xenlab.abi import ring as abi
from xenlab.abi.layout import PAGE_SIZE
from xenlab.dom0.domain0 import ControlDomain
from xenlab.dom0.elevator import Position
from xenlab.dom0.vbd import SECTOR_SIZE, Vbd, VbdError
from xenlab.dom0.xenbus import XenbusBackend, XenbusState
from xenlab.dom0.xenstore import Xenstore
from xenlab.xen.domain import Domain
from xenlab.xen.ring import BackRing, RingError, SharedRing

SECTORS_PER_PAGE = PAGE_SIZE // SECTOR_SIZE
VDISK_READONLY = 0x4  # the "info" key's flags (Xen's vdisk_info: CDROM 1, REMOVABLE 2, RO 4)
OPERATION_NAMES = {
    abi.BLKIF_OP_READ: "read",
    abi.BLKIF_OP_WRITE: "write",
    abi.BLKIF_OP_WRITE_BARRIER: "barrier",
    abi.BLKIF_OP_FLUSH_DISKCACHE: "flush",
}
_SEGMENT = abi.BLKIF_REQUEST_SEGMENT


@dataclass
class VbdStats:
    """Per-VBD counters (what a lab plots next to the elevator's trace)."""

    requests: int = 0  # taken from the ring, valid or not
    reads: int = 0
    writes: int = 0  # WRITE requests (barriers are counted apart)
    sectors_read: int = 0
    sectors_written: int = 0  # by WRITEs and by barriers that carry data
    barriers: int = 0
    flushes: int = 0
    errors: int = 0  # requests answered with an error status
    reorders: int = 0  # requests the elevator served before an earlier one of this VBD


@dataclass(eq=False)
class IoRequest:
    """One checked ``blkif_request``: what the elevator orders and the back end carries
    out.  A request that failed a check has ``refusal`` (why) and ``status`` set and is
    answered without I/O."""

    device: BlockDevice
    id: int
    operation: int
    sector: int = 0
    nr_sectors: int = 0
    segments: tuple[tuple[int, int, int], ...] = ()  # (mfn, first_sect, last_sect)
    position: Position | None = None  # on the host disk, for the elevator
    refusal: str | None = None
    status: int = abi.BLKIF_RSP_OKAY

    @property
    def source(self) -> BlockDevice:
        return self.device

    @property
    def is_barrier(self) -> bool:
        return self.operation in (abi.BLKIF_OP_WRITE_BARRIER, abi.BLKIF_OP_FLUSH_DISKCACHE)

    @property
    def name(self) -> str:
        return OPERATION_NAMES.get(self.operation, f"op{self.operation}")


@dataclass
class _Connection:
    """What exists only while connected: the mapped ring and the bound port."""

    mfn: int
    ring: BackRing
    port: int
    pushed: bool = field(default=False)  # responses written since the last push


class BlockDevice(XenbusBackend):
    """Domain 0's end of one VBD of one domain (Xen's ``struct backend_info`` + ``blkif``).

    ``kick(device)`` is called when the guest notifies: the block service then takes the
    device's requests at its next round."""

    kind = "vbd"
    driver = "blkback"

    def __init__(
        self,
        dom0: ControlDomain,
        store: Xenstore,
        domain: Domain,
        vbd: Vbd,
        *,
        vdev: str,
        devid: int,
        kick: Callable[[BlockDevice], None],
        on_gone: Callable[[BlockDevice], None],
    ) -> None:
        super().__init__(dom0, store, domain, devid, kick, on_gone)
        self.vbd = vbd
        self.vdev = vdev
        self.stats = VbdStats()
        self.conn: _Connection | None = None
        self._publish(
            [("virtual-device", str(devid)), ("device-type", "disk")],
            [
                ("online", "1"),
                ("dev", vdev),
                ("type", "file"),
                ("mode", "r" if vbd.readonly else "w"),
                ("params", ",".join(str(e.path) for e in vbd.extents)),
                ("feature-barrier", "1"),
                ("feature-flush-cache", "1"),
            ],
        )

    @property
    def label(self) -> str:
        return f"domain {self.domid} {self.vdev}"

    # ------------------------------------------------------------------ connecting
    def _connect(self) -> None:
        mfn = self._read_frontend("ring-ref")
        port = self._read_frontend("event-channel")
        if mfn is None or port is None:
            self._fail("ring-ref or event-channel missing or not a number")
            return
        why = self._hold_frame(mfn)
        if why is not None:
            self._fail(f"ring-ref {mfn:#x} refused: {why}")
            return
        try:
            local = self.dom0.bind(self.domid, port, self._on_event)
        except ValueError as exc:
            self._release_frame(mfn)
            self._fail(f"event-channel {port}: {exc}")
            return
        ring = BackRing(SharedRing(self.xen.machine.memory, mfn, abi.BLKIF_ENTRY_SIZE))
        self.conn = _Connection(mfn, ring, local)
        be = self.backend
        self.store.write(f"{be}/sectors", str(self.vbd.sectors))
        self.store.write(f"{be}/sector-size", str(SECTOR_SIZE))
        self.store.write(f"{be}/info", str(VDISK_READONLY if self.vbd.readonly else 0))
        self._set_state(XenbusState.CONNECTED)

    def disconnect(self, reason: str | None) -> None:
        """Drop the ring and the port; a ``reason`` is a front end's misbehaviour, logged."""
        conn, self.conn = self.conn, None
        if conn is not None:
            self.dom0.unbind(conn.port)
            self._release_frame(conn.mfn)
        if reason is not None:
            self._fail(f"disconnected: {reason}")

    def _closed(self) -> None:
        self.vbd.close()

    def _on_event(self) -> None:
        self._kick(self)

    # ------------------------------------------------------------------ requests
    def pending(self) -> int:
        """Requests waiting in the ring (0 if disconnected or the ring is broken)."""
        conn = self.conn
        if conn is None:
            return 0
        try:
            return conn.ring.has_unconsumed_requests()
        except RingError as exc:
            self.disconnect(str(exc))
            return 0

    def take_request(self) -> IoRequest | None:
        """The next request of the ring, checked (a refused one carries its status), or None
        if there is none — or the ring cannot be trusted, which disconnects the front end."""
        conn = self.conn
        if conn is None:
            return None
        if self.xen.domains.get(self.domid) is not self.domain:
            self.remove("the domain is gone")
            return None
        try:
            if not conn.ring.has_unconsumed_requests():
                return None
            raw = bytes(conn.ring.get_request())  # RING_COPY_REQUEST: check the copy only
        except RingError as exc:
            self.disconnect(str(exc))
            return None
        conn.ring.req_cons += 1
        self.stats.requests += 1
        request = self._parse(raw)
        if request.refusal is not None:
            self.stats.errors += 1
            self.last_refusal = request.refusal
        return request

    def _parse(self, raw: bytes) -> IoRequest:
        fields = abi.BLKIF_REQUEST.unpack_from(raw)
        op, nr_segments = int(fields["operation"]), int(fields["nr_segments"])
        request = IoRequest(self, int(fields["id"]), op, int(fields["sector_number"]))

        def refuse(why: str, status: int = abi.BLKIF_RSP_ERROR) -> IoRequest:
            request.refusal, request.status = why, status
            return request

        if op not in OPERATION_NAMES:
            return refuse(f"unknown operation {op}", abi.BLKIF_RSP_EOPNOTSUPP)
        if nr_segments > abi.BLKIF_MAX_SEGMENTS_PER_REQUEST:
            return refuse(f"{nr_segments} segments (at most 11)")
        if op in (abi.BLKIF_OP_READ, abi.BLKIF_OP_WRITE) and nr_segments == 0:
            return refuse("a read or write with no segment")
        if op == abi.BLKIF_OP_FLUSH_DISKCACHE and nr_segments:
            return refuse("a flush carries no data")
        if nr_segments and self.vbd.readonly and op != abi.BLKIF_OP_READ:
            return refuse("the VBD is read-only")
        segments = []
        into_memory = op == abi.BLKIF_OP_READ  # domain 0 will write into these frames
        base = abi.BLKIF_REQUEST.offsets["seg"]
        for i in range(nr_segments):
            seg = _SEGMENT.unpack_from(raw, base + i * _SEGMENT.size)
            mfn, first, last = int(seg["gref"]), int(seg["first_sect"]), int(seg["last_sect"])
            if not first <= last < SECTORS_PER_PAGE:
                return refuse(f"segment {i}: sectors {first}..{last} of a page of 8")
            why = self._frame_refused(mfn, writable=into_memory)
            if why is not None:
                return refuse(f"segment {i}: frame {mfn:#x}: {why}")
            segments.append((mfn, first, last))
        request.segments = tuple(segments)
        request.nr_sectors = sum(last - first + 1 for _, first, last in segments)
        if segments:
            try:
                request.position = self.vbd.position(request.sector)
                self.vbd.pieces(request.sector, request.nr_sectors)  # all inside the VBD?
            except VbdError as exc:
                return refuse(str(exc))
        return request

    # ------------------------------------------------------------------ I/O
    def execute(self, request: IoRequest) -> int:
        """Carry out a checked request against the VBD; its response status."""
        stats, vbd, op = self.stats, self.vbd, request.operation
        memory = self.xen.machine.memory.view
        buffers = [
            memory[(mfn << 12) + first * SECTOR_SIZE : (mfn << 12) + (last + 1) * SECTOR_SIZE]
            for mfn, first, last in request.segments
        ]
        try:
            if op == abi.BLKIF_OP_READ:
                vbd.readinto(request.sector, buffers)
                stats.reads += 1
                stats.sectors_read += request.nr_sectors
            elif op == abi.BLKIF_OP_WRITE:
                vbd.write(request.sector, buffers)
                stats.writes += 1
                stats.sectors_written += request.nr_sectors
            else:
                # A barrier's data goes after everything before it (the elevator saw to
                # that); then fsync makes both durable.  A flush is the fsync alone.
                if buffers:
                    vbd.write(request.sector, buffers)
                    stats.sectors_written += request.nr_sectors
                vbd.flush()
                if op == abi.BLKIF_OP_WRITE_BARRIER:
                    stats.barriers += 1
                else:
                    stats.flushes += 1
        except VbdError as exc:
            stats.errors += 1
            self.last_refusal = str(exc)
            return abi.BLKIF_RSP_ERROR
        return abi.BLKIF_RSP_OKAY

    def respond(self, request: IoRequest, status: int) -> None:
        """Write the response into the ring (published by :meth:`push_responses`)."""
        conn = self.conn
        if conn is None:
            return  # disconnected meanwhile: nobody to answer
        try:
            slot = conn.ring.get_response()
        except RingError as exc:
            self.disconnect(str(exc))
            return
        abi.BLKIF_RESPONSE.pack_into(
            slot, 0, id=request.id, operation=request.operation, status=status
        )
        conn.ring.rsp_prod_pvt += 1
        conn.pushed = True

    def push_responses(self) -> None:
        """Publish the responses written; notify the guest if it asked (``rsp_event``)."""
        conn = self.conn
        if conn is None or not conn.pushed:
            return
        conn.pushed = False
        try:
            notify = conn.ring.push_responses_and_check_notify()
        except RingError as exc:
            self.disconnect(str(exc))
            return
        if notify:
            self.dom0.notify(conn.port)

    def more_requests(self) -> bool:
        """``RING_FINAL_CHECK_FOR_REQUESTS``: True if requests wait; if none do, ask the
        front end to notify on its next one."""
        conn = self.conn
        if conn is None:
            return False
        try:
            return conn.ring.final_check_for_requests()
        except RingError as exc:
            self.disconnect(str(exc))
            return False

    def __repr__(self) -> str:
        return f"BlockDevice(domain {self.domid}, {self.vdev}, {self.vbd!r})"
