"""The disk elevator: the order in which domain 0 serves a batch of block requests.

Paper §3.3.6: Xen "may reorder requests ... to make the most efficient use of the disk"
(a disk head moves slowly, so requests are served in disk order, not in arrival order), and
"reorder barriers" in the ring let a guest keep the order it needs: nothing is moved across
one.  In blkif a barrier is ``BLKIF_OP_WRITE_BARRIER`` (every earlier request of the disk is
done before it, every later one after); xenlab treats ``BLKIF_OP_FLUSH_DISKCACHE`` the same
way, since a flush must cover the writes issued before it.

The policy is C-SCAN (circular SCAN, the "one-way elevator"): the head sweeps upwards through
the disk — requests sorted by (host file, byte offset) — starting from where it stopped last;
what lies below the head waits for the next sweep, which starts again at the bottom.  Unlike
plain SCAN (up, then down), every position waits at most one sweep, and unlike a plain sort
of each batch it does not favour the start of the disk.  Sweeping "upwards" through several
host files means file by file, in the order of their (device, inode) numbers.

Barriers split the batch into *phases*, per VBD: a request's phase is the number of barriers
of its own VBD that arrived before it.  Phase by phase, the ordinary requests of the phase are
swept in C-SCAN order, then the phase's barriers are served in arrival order.  So a VBD's
requests never cross one of its barriers, while other VBDs' requests, which no barrier of
theirs holds back, join the first sweep.

Pure policy: no I/O, no rings.  ``block.BlockService`` feeds it the batch it took round-robin
from the rings; the unit tests feed it plain objects.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Protocol, TypeVar

Position = tuple[tuple[int, int], int]  # ((st_dev, st_ino), byte offset) in the host file


class Schedulable(Protocol):
    """What the elevator needs to know about a request."""

    @property
    def source(self) -> Hashable: ...  # its VBD: barriers order requests of one source

    @property
    def position(self) -> Position | None: ...  # where it starts; None: no data (a flush)

    @property
    def is_barrier(self) -> bool: ...  # WRITE_BARRIER or FLUSH_DISKCACHE


R = TypeVar("R", bound=Schedulable)


class Elevator:
    """C-SCAN with per-VBD reorder barriers; ``head`` is where the last sweep stopped."""

    def __init__(self) -> None:
        self.head: Position | None = None
        self.sweeps = 0  # times the head went back to the bottom

    def order(self, batch: Sequence[R]) -> list[R]:
        """The service order of ``batch`` (given in arrival order)."""
        epoch: dict[Hashable, int] = {}
        phases: list[tuple[list[R], list[R]]] = []  # (ordinary requests, barriers)
        for request in batch:
            phase = epoch.get(request.source, 0)
            while len(phases) <= phase:
                phases.append(([], []))
            if request.is_barrier:
                phases[phase][1].append(request)
                epoch[request.source] = phase + 1
            else:
                phases[phase][0].append(request)
        out: list[R] = []
        for ordinary, barriers in phases:
            out += self._sweep(ordinary)
            out += barriers
            for barrier in barriers:
                if barrier.position is not None:
                    self.head = barrier.position
        return out

    def _sweep(self, requests: list[R]) -> list[R]:
        """C-SCAN: from the head upwards, then from the bottom up to the head.  (Ordinary
        requests always carry data; one without would keep its place at the front.)"""
        dataless = [r for r in requests if r.position is None]
        keyed = sorted(
            ((r.position, i, r) for i, r in enumerate(requests) if r.position is not None),
            key=lambda item: (item[0], item[1]),  # by position; arrival breaks ties
        )
        placed = [r for _, _, r in keyed]
        if not placed:
            return dataless
        split = 0
        if self.head is not None:
            while split < len(keyed) and keyed[split][0] < self.head:
                split += 1
        if split:
            self.sweeps += 1  # some wait below the head: the sweep wraps round
        ordered = placed[split:] + placed[:split]
        self.head = ordered[-1].position
        return dataless + ordered


def overtakers(batch: Sequence[R], order: Sequence[R]) -> list[R]:
    """The requests of ``order`` served before a request of their own VBD that arrived
    earlier — what the elevator moved ahead (the "reorders" a VBD's counters show)."""
    arrival = {id(r): i for i, r in enumerate(batch)}
    by_source: dict[Hashable, list[R]] = {}
    for request in order:
        by_source.setdefault(request.source, []).append(request)
    moved: set[int] = set()
    for served in by_source.values():
        lowest_later = None  # the earliest arrival among the requests served after this one
        for request in reversed(served):
            index = arrival[id(request)]
            if lowest_later is not None and lowest_later < index:
                moved.add(id(request))
            lowest_later = index if lowest_later is None else min(lowest_later, index)
    return [r for r in order if id(r) in moved]  # in the order served
