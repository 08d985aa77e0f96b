"""Virtual block devices (paper §3.3.6): domain 0's disk service for every guest.

Three parts, one module each: :mod:`~xenlab.dom0.vbd` (a VBD is a list of extents of host
files), :mod:`~xenlab.dom0.blkback` (one guest's device: the xenstore handshake, the ring,
the checks, the I/O), :mod:`~xenlab.dom0.elevator` (the order of service).  This module
ties them together:

- :func:`attach_disk` is the toolstack's "give this domain a disk" (an xl.cfg ``disk =``
  line): it makes the :class:`~xenlab.dom0.vbd.Vbd` and its back end;
- :class:`BlockService` is domain 0's block I/O loop, one per host, run at every service
  round (``ControlDomain.add_poller``).  Paper §3.3.6: Xen "services batches of requests
  from competing domains in a simple round-robin fashion; these are then passed to a
  standard elevator scheduler before reaching the disk hardware".  So: take one request
  from each device that has any, in turn, again and again, until the rings are empty or
  the batch is full (:data:`MAX_BATCH`); let the elevator order the batch; carry each
  request out and answer it; publish the responses and notify whoever asked.  Requests
  that just arrived wait one round while another domain can still run ("plugging"), so
  that competing domains' requests do meet in a batch.

Round-robin by *request*, not by byte, is the paper's and is simplified: a domain with big
requests gets more bandwidth than one with small requests.  I/O is synchronous (each
request's ``pread``/``pwrite`` returns before the next starts); a WRITE is answered only
after its ``pwrite`` returned, and a barrier or flush only after ``fsync``.

``trace`` records the order of service — (batch, domain, device, operation, sector, ...)
per request — for the labs' elevator plot; it is deterministic for a given workload.
"""

from __future__ import annotations

import os
import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xenlab.dom0.blkback import BlockDevice, IoRequest
from xenlab.dom0.domain0 import ControlDomain
from xenlab.dom0.elevator import Elevator, overtakers
from xenlab.dom0.vbd import SECTOR_SIZE, Vbd
from xenlab.dom0.xenstore import Xenstore
from xenlab.xen.domain import Domain, DomainState

if TYPE_CHECKING:
    from xenlab.toolstack.host import Host
    from xenlab.toolstack.xlcfg import Disk

MAX_BATCH = 64  # requests taken per service round (two full rings)
TRACE_LENGTH = 100_000  # most recent requests kept in ``trace``


@dataclass(frozen=True)
class TraceEntry:
    """One request as it was served."""

    batch: int  # the service round's batch number
    domid: int
    vdev: str
    operation: str  # read, write, barrier, flush
    sector: int  # on the VBD
    sectors: int
    offset: int | None  # byte offset in the host file (None: no data)
    status: int  # BLKIF_RSP_*
    arrival: int  # its place in the batch as taken (round-robin order)
    reordered: bool  # served before an earlier request of its VBD


class BlockService:
    """Domain 0's block I/O: round-robin over the devices with work, then the elevator."""

    def __init__(self, dom0: ControlDomain, store: Xenstore, max_batch: int = MAX_BATCH) -> None:
        self.dom0 = dom0
        self.store = store
        self.max_batch = max_batch
        self.devices: list[BlockDevice] = []
        self.elevator = Elevator()
        self.trace: deque[TraceEntry] = deque(maxlen=TRACE_LENGTH)
        self.batches = 0
        self._kicked: set[BlockDevice] = set()  # devices whose guest notified
        self._held: set[BlockDevice] = set()  # devices whose requests waited a round
        self._turn = 0  # who goes first this round, so no device always leads
        dom0.add_poller(self.service)
        dom0.xen.on_destroy.append(self._on_destroy)

    def add(self, domain: Domain, vbd: Vbd, vdev: str) -> BlockDevice:
        devid = vdev_to_devid(vdev)
        if any(d.domid == domain.domid and d.devid == devid for d in self.devices):
            raise ValueError(f"domain {domain.domid} already has a disk {vdev}")
        device = BlockDevice(
            self.dom0,
            self.store,
            domain,
            vbd,
            vdev=vdev,
            devid=devid,
            kick=self.kick,
            on_gone=self._forget,
        )
        self.devices.append(device)
        return device

    def kick(self, device: BlockDevice) -> None:
        """The device's guest notified.  Every ring is looked at each round anyway; a
        notified one also has its ``req_event`` re-armed once it is empty."""
        self._kicked.add(device)

    def _on_destroy(self, domain: Domain) -> None:
        """Xen destroyed a domain: its devices go (its frames are already free)."""
        for device in [d for d in self.devices if d.domain is domain]:
            device.remove("the domain was destroyed")

    def _forget(self, device: BlockDevice) -> None:
        self._kicked.discard(device)
        if device in self.devices:
            self.devices.remove(device)

    def service(self) -> bool:
        """One round: a batch taken round-robin, ordered by the elevator, carried out and
        answered.  True if any request was taken (there may be more: the run loop calls
        again while domain 0 does work).

        Every connected ring is looked at (one read of ``req_prod`` each), not only those
        whose guest notified: a guest's notification is handled after this poller in a
        service round, so looking only at notified rings would serve each domain alone,
        one round apart, and requests of competing domains would never meet in a batch.
        The notifications still count: they keep the ring protocol (``req_event``) and
        make domain 0 run when every guest waits.  New requests may be held back one round
        (:meth:`_plugged`) for other domains to add theirs."""
        turn = [d for d in self.devices if d.connected]
        waiting = {d for d in turn if d.pending()}
        if not waiting or self._plugged(waiting):
            for device in [d for d in turn if d in self._kicked]:
                device.more_requests()  # empty: ask to be notified of the next request
            self._kicked.clear()
            return False
        self._held.clear()
        start = self._turn % len(turn)
        turn = turn[start:] + turn[:start]
        self._turn += 1
        batch: list[IoRequest] = []
        refused: list[IoRequest] = []
        took: set[BlockDevice] = set()
        while len(batch) + len(refused) < self.max_batch:
            before = len(batch) + len(refused)
            for device in turn:  # one request per device per turn
                request = device.take_request()
                if request is None:
                    continue
                took.add(device)
                (refused if request.refusal is not None else batch).append(request)
                if len(batch) + len(refused) >= self.max_batch:
                    break
            if len(batch) + len(refused) == before:
                break  # a whole turn and nobody had a request
        for request in refused:
            request.device.respond(request, request.status)
        if batch:
            self._serve(batch)
        for device in turn:
            if device in took or device in self._kicked:
                device.push_responses()
                device.more_requests()  # empty: ask to be notified of the next request
        self._kicked.clear()
        return bool(batch or refused)

    def _plugged(self, waiting: set[BlockDevice]) -> bool:
        """Hold the requests back for one round if they are all new and some other domain
        may still add its own (it is runnable): Linux's "plugging", so that competing
        domains' requests meet in one batch.  Simplified: a real domain 0 batches because
        it runs only when Xen schedules it; here it could run after every slice, and a
        synchronous front end (one that waits for its answers) would always be served alone.
        Nobody else runnable: no wait at all."""
        if waiting & self._held or not any(
            d.state is DomainState.RUNNABLE and not d.pause_count and d.domid != self.dom0.domid
            for d in self.dom0.xen.domains.values()
        ):
            return False
        self._held = set(waiting)
        return True

    def _serve(self, batch: list[IoRequest]) -> None:
        self.batches += 1
        order = self.elevator.order(batch)
        moved = {id(r) for r in overtakers(batch, order)}
        arrival = {id(r): i for i, r in enumerate(batch)}
        for request in order:
            device = request.device
            reordered = id(request) in moved
            if reordered:
                device.stats.reorders += 1
            status = device.execute(request) if device.connected else None
            if status is None:
                continue  # its front end was disconnected earlier in this batch
            device.respond(request, status)
            self.trace.append(
                TraceEntry(
                    self.batches,
                    device.domid,
                    device.vdev,
                    request.name,
                    request.sector,
                    request.nr_sectors,
                    request.position[1] if request.position is not None else None,
                    status,
                    arrival[id(request)],
                    reordered,
                )
            )


# ---------------------------------------------------------------------- the toolstack's side


def block_service(host: Host) -> BlockService:
    """The host's block service (``Host.block``: one per host, started on first use)."""
    return host.block


def attach_disk(
    host: Host,
    domain: Domain | int | str,
    target: str | os.PathLike[str] | Disk,
    vdev: str = "xvda",
    readonly: bool = False,
    offset: int = 0,
    size: int | None = None,
) -> BlockDevice:
    """Give ``domain`` a disk: ``size`` bytes (None: to the end) of the host file ``target``
    from byte ``offset``, as ``vdev``, read-only or read-write.  ``target`` may also be an
    xl.cfg ``Disk`` (its fields then replace vdev, readonly, offset and size).  Call it after
    ``host.create`` and before the guest looks for its disks (before ``host.run``)."""
    if not isinstance(target, (str, os.PathLike)):
        disk = target
        target, vdev, readonly = disk.target, disk.vdev, disk.readonly
        offset, size = disk.offset, disk.size
    path = Path(target)
    if size is None:
        try:
            size = path.stat().st_size - offset
        except OSError as exc:
            raise ValueError(f"disk {path}: {exc.strerror or exc}") from None
    return attach_vbd(host, domain, Vbd([(path, offset, size)], readonly), vdev)


def attach_vbd(host: Host, domain: Domain | int | str, vbd: Vbd, vdev: str = "xvda") -> BlockDevice:
    """Give ``domain`` the VBD ``vbd`` (any list of extents) as ``vdev``."""
    if not isinstance(domain, Domain):
        domain = host.domain(domain)
    return block_service(host).add(domain, vbd, vdev)


_VDEV = re.compile(r"(xvd|hd|sd)([a-z]+)([0-9]*)")


def vdev_to_devid(vdev: str) -> int:
    """The device number a front end finds under ``device/vbd/`` (Xen's VBD interface doc):
    ``xvdX`` is 202 << 8 | disk << 4 | partition (disks beyond 15: 1 << 28 | disk << 8 |
    partition), ``hdX`` the IDE numbers (3 and 22), ``sdX`` 8 << 8 | disk << 4 | partition."""
    match = _VDEV.fullmatch(vdev)
    if match is None:
        raise ValueError(f"{vdev!r} is not a disk name like xvda, hdb or sdc1")
    kind, letters, digits = match.groups()
    disk = 0
    for letter in letters:  # a..z, then aa, ab, ... (bijective base 26, as Linux names them)
        disk = disk * 26 + ord(letter) - ord("a") + 1
    disk -= 1
    part = int(digits) if digits else 0
    if kind == "xvd":
        if disk < 16 and part < 16:
            return 202 << 8 | disk << 4 | part
        if part < 256:
            return 1 << 28 | disk << 8 | part
    elif kind == "hd" and disk < 4 and part < 64:
        return (3 if disk < 2 else 22) << 8 | (disk % 2) << 6 | part
    elif kind == "sd" and disk < 16 and part < 16:
        return 8 << 8 | disk << 4 | part
    raise ValueError(f"{vdev!r}: no device number for that disk or partition")


__all__ = [
    "MAX_BATCH",
    "SECTOR_SIZE",
    "BlockDevice",
    "BlockService",
    "TraceEntry",
    "attach_disk",
    "attach_vbd",
    "block_service",
    "vdev_to_devid",
]
