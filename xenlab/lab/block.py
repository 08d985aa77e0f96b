"""Lab 06 (block devices): virtual block devices on real guest I/O, checked and drawn.

* :func:`workload_result` — the numbers in the summary lines of xenolite's block workload
  (``guests/xenolite/user_blk.c``), and :func:`without_acks` its console minus the ack lines;
* :class:`RingProbe` — domain 0's view of a block ring at the start of every service round
  that finds requests waiting: the snapshot :class:`~xenlab.lab.rings.RingInspector` draws;
* :func:`round_robin_breaks`, :func:`barrier_breaks`, :func:`sweep_wraps` — the order of
  service recorded in ``BlockService.trace`` checked against the paper's rules (§3.3.6),
  and :func:`order_figure` to draw it;
* :class:`QueueingFront` — a front end played from Python in a paused guest, which queues
  many requests before it waits (xenolite's blkfront waits after each call), so that a
  barrier shares a batch with requests of its own disk;
* :func:`batching_experiment`, :func:`batching_figure` — guest throughput against the size
  of domain 0's service batch;
* :func:`kill_after_acks` and :func:`missing_writes` — the durability experiment: a host
  process killed with SIGKILL in the middle of the workload, its image checked afterwards.

Everything a figure shows is also returned as plain data for the notebook's assert cells.
"""

from __future__ import annotations

import array
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xenlab.abi import ring as abi
from xenlab.abi.hypercalls import HYPERCALLS
from xenlab.dom0.blkback import BlockDevice
from xenlab.dom0.block import TraceEntry, attach_disk, block_service
from xenlab.lab.figures import finish
from xenlab.toolstack.host import Host
from xenlab.xen.domain import Domain
from xenlab.xen.events import Channel, PortState, notify_remote
from xenlab.xen.ring import FrontRing, SharedRing
from xenlab.xen.time import NS_PER_INSTRUCTION

BLOCK = 4096  # the workload's block: one page, 8 sectors
SECTOR = 512
_COLOURS = {1: "#1f77b4", 2: "#ff7f0e", 3: "#2ca02c", 4: "#d62728"}
_BARRIERS = ("barrier", "flush")


def image(path: str | os.PathLike[str], size: int) -> Path:
    """A new all-zero (sparse) image file of ``size`` bytes: a blank disk."""
    path = Path(path)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# ---------------------------------------------------------------------- the workload's console

_SUMMARIES = {
    "mix": r"blk: (?P<writes>\d+) writes and (?P<barriers>\d+) barriers \((?P<wblocks>\d+) "
    r"blocks\), (?P<reads>\d+) reads \((?P<rblocks>\d+) blocks\), (?P<flushes>\d+) flushes, "
    r"(?P<errors>\d+) errors",
    "final": r"blk: final check: (?P<written>\d+) blocks written, (?P<empty>\d+) never "
    r"written, (?P<bad>\d+) bad; (?P<requests>\d+) requests, (?P<error_responses>\d+) error",
    "verify": r"blk: verify: (?P<blocks>\d+) blocks: (?P<written>\d+) written, (?P<empty>\d+) "
    r"never written, (?P<bad>\d+) bad",
}
ACK = re.compile(r"^ack seq=(\d+) block=(\d+) gen=(\d+)$", re.M)
FLUSH_ACK = re.compile(r"^ack seq=(\d+) flush$", re.M)


def workload_result(console: str) -> dict[str, int]:
    """The numbers of whichever summary lines the block workload printed (the mix's, its
    final check's, a ``verify=1`` run's); a key is missing if its line is."""
    out: dict[str, int] = {}
    for pattern in _SUMMARIES.values():
        match = re.search(pattern, console)
        if match:
            out.update({k: int(v) for k, v in match.groupdict().items()})
    return out


def without_acks(console: str) -> str:
    """The console minus the one-line-per-block ``ack`` lines (counted instead)."""
    lines = console.splitlines()
    kept = [line for line in lines if not line.startswith("ack seq=")]
    if len(kept) < len(lines):
        kept.append(f"({len(lines) - len(kept)} ack lines left out)")
    return "\n".join(kept)


def acked_writes(console: str) -> dict[int, int]:
    """block -> the highest generation the guest saw acknowledged."""
    acked: dict[int, int] = {}
    for _, block, gen in ACK.findall(console):
        acked[int(block)] = max(acked.get(int(block), 0), int(gen))
    return acked


def flushed_writes(console: str) -> dict[int, int]:
    """The acknowledged writes acknowledged *before* the last acknowledged flush (block ->
    generation): those were fsync'ed too, so they survive a host power loss as well."""
    flushes = [int(seq) for seq in FLUSH_ACK.findall(console)]
    if not flushes:
        return {}
    last = max(flushes)
    covered: dict[int, int] = {}
    for seq, block, gen in ACK.findall(console):
        if int(seq) < last:
            covered[int(block)] = max(covered.get(int(block), 0), int(gen))
    return covered


def stamp_generation(data: bytes, block: int) -> int:
    """What ``user_blk.c: check()`` says of a 4 KiB block read back: its generation if it is
    a consistent stamp of block ``block``, 0 if all zero (never written), -1 otherwise."""
    words = array.array("I", data)
    if words[0] == 0:
        return 0 if not any(data) else -1
    if words[0] != 0x4B4C4258 or words[1] != block or words[2] == 0:  # "XBLK"
        return -1
    h = 2166136261  # FNV-1a over every word but the checksum (word 3)
    for i in (*range(3), *range(4, BLOCK // 4)):
        h = ((h ^ words[i]) * 16777619) & 0xFFFFFFFF
    return words[2] if h == words[3] else -1


def missing_writes(
    path: str | os.PathLike[str], acked: dict[int, int], base: int = 0
) -> list[tuple[int, int, int]]:
    """(block, generation acknowledged, generation found) for every acknowledged write that
    the image does not hold (a later write may have replaced it: found >= acknowledged is
    fine).  ``base``: where the VBD's extent starts in the file."""
    data = Path(path).read_bytes()
    out = []
    for block, gen in sorted(acked.items()):
        at = base + block * BLOCK
        found = stamp_generation(data[at : at + BLOCK], block)
        if found < gen:
            out.append((block, gen, found))
    return out


# ---------------------------------------------------------------------- the ring, live


class RingProbe:
    """Domain 0's view of one block ring (its ``BackRing``), caught at the start of each
    service round in which requests wait — just before the block service takes them.

    Domain 0 serves after every guest time slice, so a ring looked at *between* slices is
    nearly always empty; the probe's poller runs in the round itself.  Create it before the
    host's first disk is attached (its poller must come before the block service's), then
    set :attr:`device`."""

    def __init__(self, host: Host) -> None:
        self.device: BlockDevice | None = None
        self.rounds = 0  # service rounds that found requests waiting
        self.most_waiting = 0
        self._caught: dict | None = None
        host.dom0.add_poller(self._look)

    def _look(self) -> bool:
        conn = self.device.conn if self.device is not None else None
        if conn is None:
            return False
        snap = conn.ring.snapshot()  # never raises: a broken ring shows as "error"
        waiting = len(snap["pending_requests"])
        if waiting:
            self.rounds += 1
            self.most_waiting = max(self.most_waiting, waiting)
            if self._caught is None or waiting > len(self._caught["pending_requests"]):
                self._caught = snap
        return False  # looking is not work: the run loop must not spin on it

    def snapshot(self) -> dict:
        """The fullest ring the back end found since the last call (``caught``: True), or
        the ring as it is now if no round found requests meanwhile."""
        caught, self._caught = self._caught, None
        if caught is not None:
            return {**caught, "caught": True}
        conn = self.device.conn if self.device is not None else None
        if conn is None:  # not connected yet: an empty ring, drawn as such
            return {"size": abi.BLKIF_RING_SIZE, "pending_requests": [], "caught": False}
        return {**conn.ring.snapshot(), "caught": False}


# ---------------------------------------------------------------------- the order of service


def batches(trace: list[TraceEntry]) -> dict[int, list[TraceEntry]]:
    """The trace's requests per batch, each batch in the order served."""
    out: dict[int, list[TraceEntry]] = {}
    for entry in trace:
        out.setdefault(entry.batch, []).append(entry)
    return out


def round_robin_breaks(trace: list[TraceEntry]) -> list[int]:
    """The batches whose requests were not *taken* round-robin: one per VBD per turn, the
    VBDs in the same order every turn, a VBD dropping out only when it has no more."""
    broken = []
    for number, entries in batches(trace).items():
        taken = [(e.domid, e.vdev) for e in sorted(entries, key=lambda e: e.arrival)]
        counts = Counter(taken)
        order = list(dict.fromkeys(taken))  # who was first, second, ... in a turn
        expected = [v for turn in range(max(counts.values())) for v in order if counts[v] > turn]
        if taken != expected:
            broken.append(number)
    return broken


def barrier_breaks(trace: list[TraceEntry]) -> list[tuple[int, TraceEntry, TraceEntry]]:
    """(batch, barrier, request) for every request served on the wrong side of a barrier
    or flush of its own VBD: everything that arrived before must be served before it,
    everything after, after it."""
    broken = []
    for number, entries in batches(trace).items():
        for i, barrier in enumerate(entries):
            if barrier.operation not in _BARRIERS:
                continue
            for j, other in enumerate(entries):
                same = (other.domid, other.vdev) == (barrier.domid, barrier.vdev)
                if same and other is not barrier and (other.arrival < barrier.arrival) != (j < i):
                    broken.append((number, barrier, other))
    return broken


def sweep_wraps(trace: list[TraceEntry]) -> dict[int, int]:
    """For each batch without barriers: how often the disk head went back down while
    serving it (one host file).  C-SCAN sweeps upwards, so at most once per batch."""
    wraps = {}
    for number, entries in batches(trace).items():
        if any(e.operation in _BARRIERS for e in entries):
            continue
        offsets = [e.offset for e in entries if e.offset is not None]
        wraps[number] = sum(b < a for a, b in pairwise(offsets))
    return wraps


def _hover(e: TraceEntry) -> str:
    return (
        f"domain {e.domid} {e.operation} of {e.sectors} sectors at VBD sector {e.sector}"
        f"<br>batch {e.batch}, taken {e.arrival + 1}th" + (", reordered" if e.reordered else "")
    )


def order_figure(trace: list[TraceEntry], numbers: list[int]) -> go.Figure:
    """The batches ``numbers`` twice: as taken from the rings (left, round-robin) and as
    served (right, the elevator).  Each request sits at its sector in the host file,
    coloured by domain (diamond: a barrier, cross at 0: a flush, which has no sector); a
    black ring marks a request served before an earlier one of its VBD; the grey line is
    the path a disk head would travel in that order; dotted lines separate batches."""
    groups = batches(trace)
    taken = [e for n in numbers for e in sorted(groups[n], key=lambda e: e.arrival)]
    served = [e for n in numbers for e in groups[n]]
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, subplot_titles=("as taken (round-robin)", "as served")
    )
    for col, ordered in ((1, taken), (2, served)):
        sector = [None if e.offset is None else e.offset // SECTOR for e in ordered]
        fig.add_scatter(
            x=list(range(len(ordered))),
            y=sector,
            mode="lines",
            connectgaps=True,
            line=dict(color="#cccccc", width=1),
            showlegend=False,
            hoverinfo="skip",
            row=1,
            col=col,
        )
        for domid in sorted({e.domid for e in ordered}):
            index = [i for i, e in enumerate(ordered) if e.domid == domid]
            fig.add_scatter(
                x=index,
                y=[sector[i] if sector[i] is not None else 0 for i in index],
                mode="markers",
                name=f"domain {domid}",
                legendgroup=str(domid),
                showlegend=col == 1,
                marker=dict(
                    color=_COLOURS.get(domid, "#7f7f7f"),
                    size=8,
                    symbol=[
                        {"barrier": "diamond", "flush": "x"}.get(ordered[i].operation, "circle")
                        for i in index
                    ],
                    line=dict(color="black", width=[2 * ordered[i].reordered for i in index]),
                ),
                text=[_hover(ordered[i]) for i in index],
                hoverinfo="text",
                row=1,
                col=col,
            )
        for i in range(1, len(ordered)):
            if ordered[i].batch != ordered[i - 1].batch:
                fig.add_vline(x=i - 0.5, line=dict(color="#bbbbbb", dash="dot"), row=1, col=col)
        fig.update_xaxes(title_text=f"order {'taken' if col == 1 else 'served'}", row=1, col=col)
    fig.update_yaxes(title_text="sector in the host file", row=1, col=1)
    title = f"Batch {numbers[0]}" if len(numbers) == 1 else f"Batches {numbers[0]}-{numbers[-1]}"
    return finish(fig, f"{title}: {len(served)} requests, taken and served", 380)


# ---------------------------------------------------------------------- a queueing front end


class QueueingFront:
    """A block front end played from Python for a *paused* guest: its ring is one of the
    guest's pages (``ring_pfn``), its data another (``data_pfn``), its port one the guest
    offers domain 0 — so domain 0's real back end checks and serves it exactly as it does
    blkfront.  Unlike xenolite's blkfront, it queues many requests before it waits."""

    def __init__(
        self, host: Host, domain: Domain, device: BlockDevice, ring_pfn: int = 900
    ) -> None:
        self.host, self.domain, self.device = host, domain, device
        self.mfn = domain.p2m[ring_pfn]
        self.data_mfn = domain.p2m[ring_pfn + 1]
        sring = SharedRing(host.xen.machine.memory, self.mfn, abi.BLKIF_ENTRY_SIZE)
        sring.init()
        self.ring = FrontRing(sring)
        self.port = domain.events.allocate(Channel(PortState.UNBOUND, remote_dom=0))
        self.next_id = 0
        store, fe, domid = host.store, device.frontend, domain.domid
        store.write(f"{fe}/ring-ref", str(self.mfn), domid=domid)
        store.write(f"{fe}/event-channel", str(self.port), domid=domid)
        store.write(f"{fe}/state", "3", domid=domid)  # Initialised: the back end connects

    def queue(self, operation: int, sector: int, sectors: int = 1) -> int:
        """Queue one request (``sectors`` of the data page; none for a flush); its id."""
        segment = bytearray(abi.BLKIF_MAX_SEGMENTS_PER_REQUEST * abi.BLKIF_REQUEST_SEGMENT.size)
        nr_segments = 0 if operation == abi.BLKIF_OP_FLUSH_DISKCACHE else 1
        if nr_segments:
            abi.BLKIF_REQUEST_SEGMENT.pack_into(
                segment, 0, gref=self.data_mfn, first_sect=0, last_sect=sectors - 1
            )
        self.next_id += 1
        abi.BLKIF_REQUEST.pack_into(
            self.ring.get_request(),
            operation=operation,
            nr_segments=nr_segments,
            handle=0,
            id=self.next_id,
            sector_number=sector,
            seg=bytes(segment),
        )
        self.ring.req_prod_pvt += 1
        return self.next_id

    def push(self) -> None:
        """Publish the queued requests and notify domain 0 (without waiting)."""
        self.ring.push_requests()
        notify_remote(self.domain, self.port)

    def responses(self) -> dict[int, int]:
        """id -> status of every response waiting."""
        out = {}
        while self.ring.has_unconsumed_responses():
            response = abi.BLKIF_RESPONSE.unpack_from(self.ring.get_response())
            out[response["id"]] = response["status"]
            self.ring.rsp_cons += 1
        return out


# ---------------------------------------------------------------------- batching


@dataclass(frozen=True)
class BatchRun:
    """One sequential pass of ``blk=1 bench=...`` with a given service batch."""

    max_batch: int
    mib: float  # guest data moved
    guest_ns: int  # the guest's virtual time for the pass (deterministic)
    wall_s: float  # host seconds for the pass (not deterministic)
    batches: int
    requests: int
    hypercalls: dict[str, int]  # the guest's, during the pass

    @property
    def guest_mb_s(self) -> float:
        return self.mib / (self.guest_ns / 1e9)

    @property
    def wall_mb_s(self) -> float:
        return self.mib / self.wall_s

    @property
    def wakeups(self) -> int:
        """SCHEDOP_poll returns: each is a wait for responses that domain 0 ended."""
        return self.hypercalls.get("sched_op", 0)


def batching_run(path: Path, max_batch: int, write: bool = True) -> BatchRun:
    """Write (or read) the whole image sequentially, 1 MiB per call, with domain 0 taking
    at most ``max_batch`` requests per service round.  Measured from the first request
    domain 0 sees to the end (the boot is left out), as ``benchmarks/block.py`` does."""
    host = Host(64)
    domain = host.create("xenolite", name="bench", cmdline=f"blk=1 bench={1 if write else 2}")
    start: list[tuple[int, list[int], float]] = []
    device: BlockDevice | None = None

    def first_request() -> bool:  # a poller that runs before the block service's
        if not start and device is not None and device.pending():
            start.append(
                (domain.stats.instructions, list(domain.stats.hypercalls), time.perf_counter())
            )
        return False

    host.dom0.add_poller(first_request)
    device = attach_disk(host, domain, path)
    service = block_service(host)
    service.max_batch = max_batch
    host.run(max_instructions=400_000_000)
    wall = time.perf_counter()
    if domain.shutdown_reason != "poweroff" or "blk: bench" not in domain.console:
        raise RuntimeError(f"the bench pass did not finish:\n{domain.console}")
    instructions, hypercalls, started = start[0]
    stats = device.stats
    return BatchRun(
        max_batch,
        (stats.sectors_read + stats.sectors_written) * SECTOR / (1 << 20),
        (domain.stats.instructions - instructions) * NS_PER_INSTRUCTION,
        wall - started,
        service.batches,
        stats.requests,
        {
            HYPERCALLS.get(nr, f"#{nr}"): count - hypercalls[nr]
            for nr, count in enumerate(domain.stats.hypercalls)
            if count > hypercalls[nr]
        },
    )


def batching_experiment(
    path: Path, sizes: list[int], write: bool = True, repeats: int = 2
) -> list[BatchRun]:
    """:func:`batching_run` ``repeats`` times for each service batch size in ``sizes``.
    The guest's numbers must come out the same every time (they are deterministic); the
    wall clock is the best of the repeats (the least disturbed by other work)."""
    out = []
    for size in sizes:
        tries = [batching_run(path, size, write) for _ in range(repeats)]
        if len({(r.guest_ns, r.batches, r.requests) for r in tries}) != 1:
            raise RuntimeError(f"max_batch={size}: the runs differ: {tries}")
        out.append(replace(tries[0], wall_s=min(r.wall_s for r in tries)))
    return out


def batching_figure(runs: list[BatchRun]) -> go.Figure:
    """Guest MB/s against the service batch (log scale): per second of the guest's virtual
    time (left; deterministic) and per second of wall-clock time on this machine (right)."""
    sizes = [r.max_batch for r in runs]
    text = [f"{r.batches} batches, {r.wakeups} guest wake-ups" for r in runs]
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("guest virtual time", "wall clock (this machine)")
    )
    for col, values in ((1, [r.guest_mb_s for r in runs]), (2, [r.wall_mb_s for r in runs])):
        fig.add_scatter(
            x=sizes, y=values, mode="lines+markers", text=text, showlegend=False, row=1, col=col
        )
        fig.update_xaxes(type="log", title_text="max_batch (requests)", row=1, col=col)
        fig.update_yaxes(title_text="MB/s", rangemode="tozero", row=1, col=col)
    return finish(fig, "Sequential writes against the size of domain 0's batch", 360)


# ---------------------------------------------------------------------- durability

_CHILD = (
    "import sys; from xenlab.lab.block import host_until_killed; host_until_killed(*sys.argv[1:])"
)


def host_until_killed(path: str, seed: str = "7") -> None:
    """The killed host (run in a child process): the block workload for ever on ``path``,
    its console copied to stdout as it grows."""
    host = Host(64)
    domain = host.create("xenolite", name="durable", cmdline=f"blk=1 ops=1000000 seed={seed}")
    attach_disk(host, domain, path)
    seen = 0
    while domain.alive:
        host.run(max_instructions=200_000)
        text = domain.console
        sys.stdout.write(text[seen:])
        sys.stdout.flush()
        seen = len(text)


@dataclass(frozen=True)
class KillRun:
    output: str  # every whole line the host printed before it died
    acks_before_kill: int  # ack lines read when the kill was sent
    returncode: int


def kill_after_acks(
    path: str | os.PathLike[str], acks: int = 60, seed: int = 7, timeout: float = 60.0
) -> KillRun:
    """Run :func:`host_until_killed` in a child process on the image ``path``; SIGKILL it
    as soon as ``acks`` write acknowledgements have come out, wherever it is."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output, seen = "", 0
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while seen < acks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{seen} acks in {timeout} s:\n{output}")
            if selector.select(timeout=1):
                line = proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"the host died by itself: {proc.stderr.read()}")
                output += line
                seen += bool(ACK.match(line.rstrip("\n")))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        selector.close()
    rest = proc.stdout.read()  # what it printed before it died and we had not read yet
    proc.stdout.close()
    proc.stderr.close()
    output += rest[: rest.rfind("\n") + 1]  # a half-written last line is dropped
    return KillRun(output, seen, proc.returncode)


def verify_image(path: str | os.PathLike[str]) -> str:
    """Boot a fresh host whose guest reads the whole image (read-only) and checks every
    block (``blk=1 verify=1``); its console."""
    host = Host(64)
    domain = host.create("xenolite", name="check", cmdline="blk=1 verify=1")
    attach_disk(host, domain, path, readonly=True)
    host.run(max_instructions=400_000_000)
    return domain.console
