"""Lab 03 (events): event channels, shared_info's bitmaps and the virtual interrupt flag.

* :func:`pingpong` — the ``pingpong`` guest's two roles as two domains of one ``Xen``,
  not yet run (step them with ``xen.run(max_instructions=...)``);
* :func:`bitmaps` — a domain's 1024-bit ``evtchn_pending`` and ``evtchn_mask`` from its
  shared_info page, as lists of 0/1; :func:`set_ports` lists the ports whose bit is set;
* :func:`vcpu_flags` — ``evtchn_upcall_pending``, ``evtchn_upcall_mask`` (the virtual IF)
  and ``evtchn_pending_sel`` of vCPU 0;
* :func:`port_rows` — the domain's open ports (``domain.events.ports``);
* :func:`bitmap_figure` — pending and mask as two 32 x 32 heatmaps (one cell per port);
* :func:`step_until` and :class:`EventStepper` — run a few instructions at a time and watch.

Everything shown is plain data, so assert cells can check it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from xenlab.abi import layout
from xenlab.abi.hypercalls import NR_EVENT_CHANNELS
from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.domain import Domain
from xenlab.xen.hypervisor import Xen

BITMAP_BYTES = NR_EVENT_CHANNELS // 8  # 1024 bits: 32 words of 32 bits


def pingpong(count: int = 10, **xen_options) -> tuple[Xen, Domain, Domain]:
    """pong (domain 0) offers port 2 to domain 1; ping (domain 1) binds to it."""
    xen = Xen(machine_mib=32, **xen_options)
    image = load_kernel_image(build_guest("pingpong"))
    pong = build_domain(
        xen, image, name="pong", memory_mib=4, cmdline=f"role=pong peer=1 count={count}"
    )
    ping = build_domain(
        xen, image, name="ping", memory_mib=4, cmdline=f"role=ping peer=0 port=2 count={count}"
    )
    return xen, pong, ping


def _bits(data: bytes) -> list[int]:
    return [data[i // 8] >> (i % 8) & 1 for i in range(8 * len(data))]


def bitmaps(domain: Domain) -> tuple[list[int], list[int]]:
    """(evtchn_pending, evtchn_mask): one 0/1 per port, port 0 first."""
    memory = domain.machine.memory
    shared = domain.shared_info_mfn << 12
    pending = memory.read(shared + layout.SH_EVTCHN_PENDING, BITMAP_BYTES)
    mask = memory.read(shared + layout.SH_EVTCHN_MASK, BITMAP_BYTES)
    return _bits(bytes(pending)), _bits(bytes(mask))


def set_ports(bits: list[int]) -> list[int]:
    return [port for port, bit in enumerate(bits) if bit]


@dataclass(frozen=True)
class VcpuFlags:
    upcall_pending: int  # "look at the bitmaps"
    upcall_mask: int  # the virtual interrupt flag: 1 = events masked
    pending_sel: int  # one bit per 32-bit word of evtchn_pending


def vcpu_flags(domain: Domain) -> VcpuFlags:
    memory = domain.machine.memory
    vcpu_info = domain.shared_info_mfn << 12  # vcpu_info[0]
    return VcpuFlags(
        upcall_pending=memory.view[vcpu_info + layout.VI_UPCALL_PENDING],
        upcall_mask=memory.view[vcpu_info + layout.VI_UPCALL_MASK],
        pending_sel=memory.read_u32(vcpu_info + layout.VI_PENDING_SEL),
    )


def port_rows(domain: Domain) -> list[tuple[int, str, str]]:
    """(port, state, what it is bound to) for every open port."""
    rows = []
    for port, channel in enumerate(domain.events.ports):
        if channel is None:
            continue
        state = channel.state.name.lower()
        if state == "interdomain":
            peer = f"domain {channel.remote_dom} port {channel.remote_port}"
        elif state == "unbound":
            peer = f"offered to domain {channel.remote_dom}"
        elif state == "virq":
            peer = f"VIRQ {channel.virq}"
        else:
            peer = ""
        rows.append((port, state, peer))
    return rows


def bitmap_figure(domain: Domain, title: str = "") -> go.Figure:
    """evtchn_pending and evtchn_mask as 32 x 32 grids: row = word, column = bit."""
    pending, mask = bitmaps(domain)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("evtchn_pending", "evtchn_mask"))
    for col, (bits, colour) in enumerate(((pending, "#d62728"), (mask, "#1f77b4")), start=1):
        grid = [bits[32 * w : 32 * w + 32] for w in range(32)]
        text = [[f"port {32 * w + b}" for b in range(32)] for w in range(32)]
        fig.add_trace(
            go.Heatmap(
                z=grid,
                text=text,
                hovertemplate="%{text}: %{z}<extra></extra>",
                zmin=0,
                zmax=1,
                colorscale=[[0, "#f4f4f4"], [1, colour]],
                showscale=False,
                xgap=1,
                ygap=1,
            ),
            row=1,
            col=col,
        )
    fig.update_yaxes(autorange="reversed", title_text="word")
    fig.update_xaxes(title_text="bit")
    fig.update_layout(
        title=title or f"shared_info of domain {domain.domid} ({domain.name})",
        height=380,
        width=760,
        margin={"t": 70, "b": 40},
    )
    return fig


def step_until(
    xen: Xen, condition: Callable[[], bool], *, step: int = 50, limit: int = 5_000_000
) -> int:
    """Run ``step`` instructions at a time until ``condition()`` holds; the instructions run.
    Raises RuntimeError if it never does within ``limit`` (or everyone stops)."""
    spent = 0
    while not condition():
        if spent >= limit:
            raise RuntimeError(f"condition not reached in {limit} instructions")
        result = xen.run(max_instructions=step)
        spent += result.instructions
        if result.reason == "idle" and not condition():
            raise RuntimeError("every domain stopped before the condition held")
    return spent


class EventStepper:
    """A Step button: run ``step`` instructions, then show one domain's bits and flags."""

    def __init__(self, xen: Xen, domain: Domain, step: int = 200) -> None:
        self.xen = xen
        self.domain = domain
        self.step = widgets.IntSlider(value=step, min=10, max=5000, step=10, description="step")
        self.button = widgets.Button(description="Step", icon="step-forward")
        self.output = widgets.HTML()
        self.history: list[tuple[int, list[int], VcpuFlags]] = []
        self.button.on_click(lambda _button: self.advance())
        self.widget = widgets.VBox([widgets.HBox([self.button, self.step]), self.output])
        self.refresh()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def advance(self) -> None:
        self.xen.run(max_instructions=self.step.value)
        self.refresh()

    def refresh(self) -> None:
        pending, mask = bitmaps(self.domain)
        flags = vcpu_flags(self.domain)
        now = self.xen.system_instructions
        self.history.append((now, set_ports(pending), flags))
        unmasked = [p for p in range(NR_EVENT_CHANNELS) if not mask[p]]
        self.output.value = (
            f"<b>after {now} instructions</b> — domain {self.domain.domid} "
            f"({self.domain.name}, {self.domain.state.name.lower()}): "
            f"pending ports {set_ports(pending)}, unmasked ports {unmasked}, "
            f"upcall_pending={flags.upcall_pending} upcall_mask={flags.upcall_mask} "
            f"pending_sel={flags.pending_sel:#x}, upcalls so far {self.domain.stats.upcalls}"
        )


def idle_gaps(xen: Xen) -> list[tuple[int, int]]:
    """(from, to) system-time intervals in which no domain ran: every domain was blocked
    and the idle CPU jumped to the next timer (from ``xen.trace``)."""
    gaps, last_end = [], 0
    for _domid, start, end in xen.trace:
        if start > last_end:
            gaps.append((last_end, start))
        last_end = max(last_end, end)
    return gaps


def timeline_figure(xen: Xen, title: str = "who ran when (system time)") -> go.Figure:
    """One bar per scheduling slice, per domain; the gaps are idle time."""
    fig = go.Figure()
    names = {d.domid: f"d{d.domid} {d.name}" for d in xen.domains.values()}
    for domid, name in names.items():
        slices = [(s, e) for d, s, e in xen.trace if d == domid]
        fig.add_trace(
            go.Bar(
                y=[name] * len(slices),
                x=[e - s for s, e in slices],
                base=[s for s, _ in slices],
                orientation="h",
                name=name,
                hovertemplate="%{base} ns, %{x} ns long<extra></extra>",
            )
        )
    fig.update_layout(
        title=title, xaxis_title="system time (ns)", height=250, margin={"t": 40, "b": 40}
    )
    return fig
