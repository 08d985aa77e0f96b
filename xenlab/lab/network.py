"""Lab 07 (network): the virtual network on real guest traffic, measured and drawn.

* :func:`ttcp_report` — the numbers xenolite's ttcp prints (``guests/xenolite/user_ttcp.c``),
  :func:`ttcp_lines` its lines, :func:`ttcp_payload` the datagrams it sends;
* :func:`vfr_rows` and :func:`rule_row` — ``vfr list``'s lines as plain data;
* :func:`posted_rx_pages` and :func:`flips` — page flipping (paper §3.3.5) seen from outside
  the guest: the pages it posted on its receive ring, the frames domain 0 gave back (the
  transfer table), their owners in the frame table and their M2P entries;
* :class:`VifRingProbe` — a VIF's transmit or receive ring caught at the start of every
  service round, for :class:`~xenlab.lab.rings.RingInspector` and :func:`occupancy_figure`;
* :func:`ttcp_run`, :func:`threshold_figure`, :func:`throughput_figure` — ttcp between two
  guests: packets per notification against the receiver's event threshold (§3.2), throughput
  against the datagram size;
* :func:`host_socket`, :func:`collect_from_guest`, :func:`echo_exchange` — a program on the
  host talking UDP to a guest through the bridge (``dom0/bridge.py``).

Everything a figure shows is also returned as plain data for the notebook's assert cells.
"""

from __future__ import annotations

import re
import select
import socket
import struct
import time
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xenlab.abi import ring as abi
from xenlab.dom0.netback import Vif
from xenlab.dom0.packet import ETH_HLEN, IP_HLEN, UDP_HLEN, parse
from xenlab.lab.figures import finish
from xenlab.toolstack.host import Host
from xenlab.xen.domain import Domain

RX_IP, TX_IP = "10.0.0.1", "10.0.0.2"  # the receiver's and the sender's addresses
BUDGET = 400_000_000  # instructions: far more than any run here needs
LOOPBACK = "127.0.0.1"
_PAYLOAD = ETH_HLEN + IP_HLEN + UDP_HLEN  # where a ttcp datagram's sequence number starts

# ---------------------------------------------------------------------- ttcp's console

_REPORTS = (
    r"(?P<packets>\d+) datagrams, (?P<bytes>\d+) bytes in (?P<us>\d+) us = "
    r"(?P<mbit_s>[\d.]+) Mbit/s",
    r"(?P<lost>\d+) lost, (?P<disorder>\d+) out of sequence",
    r"tx (?P<tx>\d+) \((?P<refused>\d+) refused\), (?P<kicks>\d+) notifications to domain 0",
    r"rx (?P<rx>\d+) \((?P<flips>\d+) page flips\), (?P<waits>\d+) waits, "
    r"(?P<wakeups>\d+) woken by domain 0",
    r"waiting for (?P<expected>\d+) datagrams",
)


def ttcp_report(console: str) -> dict[str, float]:
    """The numbers of the ttcp lines in one guest's console (``ttcp-t:``, ``ttcp-r:`` or
    ``echo:``): ``packets``, ``bytes``, ``us``, ``mbit_s`` (the guest's own timing, in
    virtual time), ``lost``, ``disorder``, the guest's counters ``tx``, ``refused`` (answered
    DROPPED or ERROR), ``kicks`` (notifications it sent), ``rx``, ``flips``, ``waits``,
    ``wakeups``, and a receiver's ``expected``.  A key is missing if its line is."""
    out: dict[str, float] = {}
    for pattern in _REPORTS:
        match = re.search(r"^(?:ttcp-[rt]|echo): " + pattern + "$", console, re.M)
        if match:
            out.update(
                {k: float(v) if k == "mbit_s" else int(v) for k, v in match.groupdict().items()}
            )
    return out


def ttcp_lines(console: str) -> str:
    """The network lines of a console (netfront's, ttcp's and echo's), the rest left out."""
    keep = ("netfront:", "ttcp", "echo:")
    return "\n".join(line for line in console.splitlines() if line.startswith(keep))


def ttcp_payload(seq: int, size: int) -> bytes:
    """The datagram ``user_ttcp.c`` sends as number ``seq``: its sequence number (big-endian)
    then bytes ``i * 7 + 1``.  The last datagram is ``TTCP_FIN``."""
    return struct.pack("!I", seq) + bytes((i * 7 + 1) & 0xFF for i in range(4, size))


TTCP_FIN = struct.pack("!I", 0xFFFFFFFF)


# ---------------------------------------------------------------------- the VFR's listing


@dataclass(frozen=True)
class VfrRow:
    """One line of ``vfr list``."""

    index: int
    origin: str
    packets: int
    bytes: int
    rule: str


def vfr_rows(lines: list[str]) -> list[VfrRow]:
    """``vfr list``'s rule lines as rows (its header and its "no route" line left out)."""
    rows = []
    for line in lines:
        fields = line.split(maxsplit=4)
        if len(fields) == 5 and fields[0].isdigit():
            index, origin, packets, size, rule = fields
            rows.append(VfrRow(int(index), origin, int(packets), int(size), rule))
    return rows


def rule_row(lines: list[str], rule: str) -> VfrRow:
    """The row of the rule written ``rule`` (as ``vfr list`` writes it); KeyError if none."""
    for row in vfr_rows(lines):
        if row.rule == rule:
            return row
    raise KeyError(rule)


# ---------------------------------------------------------------------- page flipping


@dataclass(frozen=True)
class PostedPage:
    """A receive request waiting on the RX ring: the page the guest gives up for it."""

    index: int  # its place on the ring (a RING_IDX)
    id: int
    mfn: int
    pfn: int  # the guest's pseudo-physical page behind it (its M2P entry)
    transfer: int  # its id's transfer-table entry when it was posted


def _transfer_entry(host: Host, vif: Vif, rid: int) -> int:
    """Request ``rid``'s entry of the VIF's transfer table (-1: an id outside the table,
    which netback refuses)."""
    conn = vif.conn
    assert conn is not None, "the VIF is not connected"
    if not 0 <= rid < abi.NETIF_RX_RING_SIZE:
        return -1
    return struct.unpack_from("<I", host.xen.machine.memory.frame(conn.transfer_mfn), 4 * rid)[0]


def posted_rx_pages(host: Host, vif: Vif) -> list[PostedPage]:
    """The receive requests the guest has posted and domain 0 has not used yet, read from
    the ring as the back end reads them (``netif_rx_request``: id, gref = the frame)."""
    conn = vif.conn
    if conn is None:
        return []
    ring = conn.rx
    out = []
    for k in range(ring.has_unconsumed_requests()):
        index = (ring.req_cons + k) & abi.RING_IDX_MASK
        req = abi.NETIF_RX_REQUEST.unpack_from(bytes(ring.get_request(index)))
        rid, mfn = int(req["id"]), int(req["gref"])
        m2p = host.xen.hole.get_m2p(mfn)
        out.append(PostedPage(index, rid, mfn, m2p, _transfer_entry(host, vif, rid)))
    return out


@dataclass(frozen=True)
class Flip:
    """One receive request after the packet came: what the guest gave, what it got."""

    id: int
    pfn: int  # the guest's page the request was for
    given: int  # the frame the guest posted
    received: int  # the frame domain 0 gave back (the transfer table's entry)
    received_from: int  # the received frame's owner before (a domain id)
    given_to: int  # the given frame's owner now
    owner: int  # the received frame's owner now
    m2p: int  # the received frame's M2P entry now (M2P_INVALID until the guest names it)
    seq: int | None  # the ttcp sequence number of the datagram in the received frame


def _seq(page: bytes) -> int | None:
    headers = parse(page[:_PAYLOAD])
    if headers.port_dst is None:
        return None
    return struct.unpack_from("!I", page, _PAYLOAD)[0]


def flips(host: Host, vif: Vif, posted: list[PostedPage], owners_before: list[int]) -> list[Flip]:
    """What became of the ``posted`` pages: for each request domain 0 has consumed since
    and answered with a page (its transfer-table entry changed), the frame it put in the
    guest's hands, and both frames' owners then and now (``owners_before``: a copy of
    ``machine.frames.owner`` taken when the pages were posted)."""
    conn = vif.conn
    assert conn is not None, "the VIF is not connected"
    memory = host.xen.machine.memory
    owner = host.xen.machine.frames.owner
    consumed = (conn.rx.req_cons - posted[0].index) & abi.RING_IDX_MASK if posted else 0
    out = []
    for page in posted[:consumed]:
        received = _transfer_entry(host, vif, page.id)
        if received == page.transfer or not 0 <= received < len(owner):
            continue  # refused (an error response): nothing changed hands
        out.append(
            Flip(
                page.id,
                page.pfn,
                page.mfn,
                received,
                owners_before[received],
                owner[page.mfn],
                owner[received],
                host.xen.hole.get_m2p(received),
                _seq(bytes(memory.frame(received))),
            )
        )
    return out


# ---------------------------------------------------------------------- the rings, live


class VifRingProbe:
    """One ring of a VIF (``"tx"`` or ``"rx"``) as domain 0 finds it at the start of every
    service round, before the network's handler takes anything off it.

    Domain 0 serves after every guest time slice, so a ring looked at *between* runs is
    nearly always drained; the probe's poller runs in the round itself (pollers run before
    the event handlers: ``ControlDomain.service``).  ``waiting`` has one count per round
    once the VIF is connected: transmit requests queued (TX), or receive pages posted (RX).
    :meth:`snapshot` returns the ring with the most requests waiting since the last call."""

    def __init__(self, host: Host, vif: Vif, ring: str = "tx") -> None:
        if ring not in ("tx", "rx"):
            raise ValueError(f"ring is 'tx' or 'rx', not {ring!r}")
        self.vif, self.ring = vif, ring
        self.size = abi.NETIF_TX_RING_SIZE if ring == "tx" else abi.NETIF_RX_RING_SIZE
        self.waiting: list[int] = []
        self._caught: dict | None = None
        host.dom0.add_poller(self._look)

    def _snap(self) -> dict | None:
        conn = self.vif.conn
        return None if conn is None else getattr(conn, self.ring).snapshot()

    def _look(self) -> bool:
        snap = self._snap()
        if snap is not None:
            waiting = len(snap["pending_requests"])
            self.waiting.append(waiting)
            if self._caught is None or waiting > len(self._caught["pending_requests"]):
                self._caught = snap
        return False  # looking is not work: the run loop must not spin on it

    def snapshot(self) -> dict:
        """The fullest ring found since the last call (``caught``: True), or the ring as
        it is now if no round looked at it meanwhile."""
        caught, self._caught = self._caught, None
        if caught is not None:
            return {**caught, "caught": True}
        snap = self._snap()
        if snap is None:  # not connected yet: an empty ring, drawn as such
            return {"size": self.size, "pending_requests": [], "caught": False}
        return {**snap, "caught": False}


def occupancy_figure(probes: dict[str, VifRingProbe]) -> go.Figure:
    """Requests waiting at the start of each service round, one row per probe."""
    fig = make_subplots(rows=len(probes), cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for row, (name, probe) in enumerate(probes.items(), 1):
        fig.add_scatter(y=probe.waiting, mode="lines", name=name, line_shape="hv", row=row, col=1)
        fig.update_yaxes(title_text="waiting", rangemode="tozero", row=row, col=1)
    fig.update_xaxes(title_text="service round (after each guest time slice)", row=len(probes))
    return finish(fig, "Requests waiting on each ring when domain 0 looks", 160 + 140 * len(probes))


# ---------------------------------------------------------------------- ttcp runs


@dataclass
class TtcpPair:
    """A host with a ttcp receiver (``RX_IP``) and a sender (``TX_IP``), not yet run."""

    host: Host
    rx: Domain
    tx: Domain
    rx_vif: Vif
    tx_vif: Vif


def ttcp_pair(n: int, size: int = 1472, *, holdoff: int = 1, burst: int = 0) -> TtcpPair:
    """Two xenolite guests with one VIF each: ``n`` datagrams of ``size`` bytes from the
    sender (in bursts of ``burst``, each waited for; 0: as fast as it can) to the receiver,
    which asks to be notified once per ``holdoff`` packets."""
    host = Host(64)
    rx = host.create(
        "xenolite", name="rx", memory_mib=8, cmdline=f"ttcp=rx n={n} holdoff={holdoff}"
    )
    tx = host.create(
        "xenolite",
        name="tx",
        memory_mib=8,
        cmdline=f"ttcp=tx peer={RX_IP} n={n} size={size} burst={burst}",
    )
    return TtcpPair(
        host, rx, tx, host.network.attach(rx, ip=RX_IP), host.network.attach(tx, ip=TX_IP)
    )


@dataclass(frozen=True)
class TtcpRun:
    """One ttcp run's figures: both guests' reports and the VIFs' counters."""

    size: int
    holdoff: int
    burst: int
    received: dict[str, float]  # the receiver's ttcp_report
    sent: dict[str, float]  # the sender's
    flips: int  # pages flipped into the receiver
    notifications: int  # events domain 0 sent the receiver
    kicks: int  # events the sender sent domain 0
    tx_packets: int  # packets domain 0 took from the sender
    wall_s: float  # host seconds for the whole run (boot included; not deterministic)

    @property
    def packets_per_notification(self) -> float:
        return self.flips / max(self.notifications, 1)

    @property
    def kpackets_s(self) -> float:
        """Thousands of packets received per second of the receiver's virtual time."""
        return self.received["packets"] / self.received["us"] * 1e3


def ttcp_run(n: int, size: int = 1472, *, holdoff: int = 1, burst: int = 0) -> TtcpRun:
    """Run :func:`ttcp_pair` to the end; RuntimeError unless every datagram arrived and
    the frame table is still exact."""
    pair = ttcp_pair(n, size, holdoff=holdoff, burst=burst)
    started = time.perf_counter()
    pair.host.run(max_instructions=BUDGET)
    wall = time.perf_counter() - started
    pair.host.network.close()  # the bridge's host sockets: nothing more will come
    received, sent = ttcp_report(pair.rx.console), ttcp_report(pair.tx.console)
    broken = pair.host.xen.check_invariants()
    if received.get("packets") != n or received.get("lost") != 0 or broken:
        raise RuntimeError(f"ttcp n={n} size={size}: {received} {broken}\n{pair.rx.console}")
    return TtcpRun(
        size,
        holdoff,
        burst,
        received,
        sent,
        pair.rx_vif.stats.rx_flips,
        pair.rx_vif.stats.notifications,
        pair.tx_vif.stats.kicks,
        pair.tx_vif.stats.tx_packets,
        wall,
    )


def threshold_figure(runs: list[TtcpRun]) -> go.Figure:
    """Against the receiver's event threshold K (log scale), one line per sender burst:
    packets per notification from domain 0 (left) and the receiver's throughput in
    virtual time (right)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("packets per notification", "receiver Mbit/s (virtual time)"),
    )
    for colour, burst in zip(
        ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"), sorted({r.burst for r in runs}), strict=False
    ):
        mine = [r for r in runs if r.burst == burst]
        ks = [r.holdoff for r in mine]
        text = [f"{r.notifications} notifications for {r.flips} packets" for r in mine]
        name = f"sender bursts of {burst}"
        for col, values in (
            (1, [r.packets_per_notification for r in mine]),
            (2, [r.received["mbit_s"] for r in mine]),
        ):
            fig.add_scatter(
                x=ks,
                y=values,
                mode="lines+markers",
                name=name,
                legendgroup=name,
                showlegend=col == 1,
                line=dict(color=colour),
                text=text,
                row=1,
                col=col,
            )
    for col in (1, 2):
        fig.update_xaxes(type="log", title_text="event threshold K (holdoff)", row=1, col=col)
        fig.update_yaxes(rangemode="tozero", row=1, col=col)
    return finish(fig, "The receiver's event threshold: fewer events, more latency", 360)


def throughput_figure(runs: list[TtcpRun]) -> go.Figure:
    """Guest-to-guest ttcp against the datagram size: Mbit/s (left) and thousands of
    packets per second (right), both in the guests' virtual time."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("Mbit/s (virtual time)", "kpackets/s (virtual time)")
    )
    sizes = [r.size for r in runs]
    for name, colour, values in (
        ("received", "#1f77b4", [r.received["mbit_s"] for r in runs]),
        ("sent", "#ff7f0e", [r.sent["mbit_s"] for r in runs]),
    ):
        line = dict(color=colour)
        fig.add_scatter(x=sizes, y=values, mode="lines+markers", name=name, line=line, row=1, col=1)
    fig.add_scatter(
        x=sizes,
        y=[r.kpackets_s for r in runs],
        mode="lines+markers",
        name="received packets",
        row=1,
        col=2,
    )
    for col in (1, 2):
        fig.update_xaxes(title_text="datagram size (bytes)", row=1, col=col)
        fig.update_yaxes(rangemode="tozero", row=1, col=col)
    return finish(fig, "ttcp between two guests, by datagram size", 340)


# ---------------------------------------------------------------------- the host bridge


def host_socket(rcvbuf: int = 1 << 22) -> socket.socket:
    """A non-blocking UDP socket on 127.0.0.1 (a free port) for a host program."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((LOOPBACK, 0))
    sock.setblocking(False)
    return sock


def drain(sock: socket.socket, wait: float = 0.0) -> list[tuple[bytes, tuple[str, int]]]:
    """Every datagram waiting on ``sock``, after waiting at most ``wait`` seconds for one."""
    if wait and not select.select([sock], [], [], wait)[0]:
        return []
    out = []
    while True:
        try:
            out.append(sock.recvfrom(65536))
        except BlockingIOError:
            return out


def collect_from_guest(
    host: Host, guest: Domain, sock: socket.socket, *, chunk: int = 100_000, chunks: int = 2_000
) -> list[bytes]:
    """Run ``host`` ``chunk`` instructions at a time until ``guest`` is done (at most
    ``chunks`` times), reading what arrives on ``sock`` after each run so that the socket
    never overflows.  The datagrams, in the order they came."""
    got: list[bytes] = []
    for _ in range(chunks):
        if not guest.alive:
            break
        host.run(max_instructions=chunk)
        got += [data for data, _ in drain(sock)]
    got += [data for data, _ in drain(sock, 0.05)]  # loopback: already there, if anywhere
    return got


@dataclass(frozen=True)
class Exchange:
    """Datagrams a host program sent a guest, and what came back."""

    sent: list[bytes]
    received: list[tuple[bytes, tuple[str, int]]]  # (data, where from)
    runs: int  # host.run calls it took
    wall_s: float
    guest_ns: int  # the guest's virtual CPU time meanwhile

    @property
    def wall_mbit_s(self) -> float:
        """Bits echoed per microsecond of wall time, both ways counted once."""
        return 8 * sum(len(d) for d, _ in self.received) / (self.wall_s * 1e6)


def echo_exchange(
    host: Host,
    vif: Vif,
    messages: list[bytes],
    *,
    window: int = 8,
    max_runs: int = 500,
    timeout: float = 30.0,
) -> Exchange:
    """Send ``messages`` from a host socket to ``vif``'s port on the bridge, at most
    ``window`` of them unanswered at a time, running the host between sends, and collect
    the guest's replies.  Bounded: at most ``max_runs`` runs and ``timeout`` seconds."""
    guest = vif.domain
    with host_socket() as sock:
        received: list[tuple[bytes, tuple[str, int]]] = []
        sent, runs = 0, 0
        ns = host.xen.virtual_time_ns(guest)
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        while len(received) < len(messages) and runs < max_runs and guest.alive:
            if time.monotonic() > deadline:
                break
            while sent < len(messages) and sent - len(received) < window:
                sock.sendto(messages[sent], (LOOPBACK, vif.host_port))
                sent += 1
            host.run(max_instructions=BUDGET)  # returns once the guest waits again
            runs += 1
            got = drain(sock)
            received += got or drain(sock, 0.05)
        wall = time.perf_counter() - started
    return Exchange(messages[:sent], received, runs, wall, host.xen.virtual_time_ns(guest) - ns)
