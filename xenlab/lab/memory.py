"""Lab 01 (memory): look inside the frame table and the page tables Xen validated.

* :func:`walk` / :class:`PageTableInspector` — a virtual address of a domain, through its
  L3 -> L2 -> L1 entries to the machine frame, with each frame's owner, type, counts and
  pinned state (Xen's ``struct page_info``);
* :func:`frame_map_figure` — machine memory, one cell per frame, coloured by type;
* :func:`batching_experiment` — the cost of page-table updates as the batch grows
  (paper §3.3.3: XenoLinux batched up to 2048 per hypercall).

Everything shown is also returned as plain data, so assert cells can check it.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

import ipywidgets as widgets
import plotly.graph_objects as go

from xenlab.build import build_guest
from xenlab.hw import x86
from xenlab.hw.memory import OWNER_FREE, OWNER_XEN
from xenlab.lab.figures import finish
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.domain import Domain
from xenlab.xen.frametable import PageType
from xenlab.xen.hypervisor import Xen


@dataclass(frozen=True)
class Step:
    """One level of a page walk: the table, the entry used, and the frame it points at."""

    level: str  # "L3", "L2", "L1"
    table_mfn: int
    index: int
    entry: int
    target_mfn: int | None  # None when the entry is not present
    owner: str
    type: str
    type_count: int
    count: int
    pinned: bool


def _owner_name(xen: Xen, owner: int) -> str:
    if owner == OWNER_FREE:
        return "free"
    if owner == OWNER_XEN:
        return "Xen"
    domain = xen.domains.get(owner)
    return f"d{owner} {domain.name}" if domain else f"d{owner}"


def walk(xen: Xen, domain: Domain, va: int) -> list[Step]:
    """Walk ``va`` through the domain's current page tables, as the MMU does."""
    ft = xen.frametable
    memory = xen.machine.memory
    table = domain.vcpu.baseptr
    steps = []
    for level, index in (
        ("L3", x86.l3_index(va)),
        ("L2", x86.l2_index(va)),
        ("L1", x86.l1_index(va)),
    ):
        entry = memory.read_u64((table << 12) + 8 * index)
        target = x86.pte_maddr(entry) >> 12 if entry & x86.PTE_P else None
        frame = target if target is not None and target < ft.nr_frames else None
        steps.append(
            Step(
                level=level,
                table_mfn=table,
                index=index,
                entry=entry,
                target_mfn=target,
                owner=_owner_name(xen, ft.owner[frame]) if frame is not None else "-",
                type=PageType(ft.type[frame]).name if frame is not None else "-",
                type_count=ft.type_count[frame] if frame is not None else 0,
                count=ft.count[frame] if frame is not None else 0,
                pinned=bool(ft.pinned[frame]) if frame is not None else False,
            )
        )
        if target is None:
            break
        table = target
    return steps


def _flags(entry: int) -> str:
    names = [
        (x86.PTE_P, "P"),
        (x86.PTE_RW, "RW"),
        (x86.PTE_US, "US"),
        (x86.PTE_A, "A"),
        (x86.PTE_D, "D"),
    ]
    return "|".join(name for bit, name in names if entry & bit) or "-"


def walk_html(steps: list[Step], va: int) -> str:
    rows = "".join(
        f"<tr><td>{s.level}</td><td>{s.table_mfn:#x}</td><td>{s.index}</td>"
        f"<td><code>{s.entry:016x}</code> {_flags(s.entry)}</td>"
        f"<td>{'not present' if s.target_mfn is None else hex(s.target_mfn)}</td>"
        f"<td>{html.escape(s.owner)}</td><td>{s.type}</td><td>{s.type_count}</td>"
        f"<td>{s.count}</td><td>{'yes' if s.pinned else ''}</td></tr>"
        for s in steps
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "level",
            "table",
            "index",
            "entry",
            "points at",
            "owner",
            "type",
            "type count",
            "count",
            "pinned",
        )
    )
    return f"<b>{va:#010x}</b><table><tr>{head}</tr>{rows}</table>"


class PageTableInspector:
    """Choose a domain and a virtual address; see the walk and the frames on the way."""

    def __init__(self, xen: Xen, va: int = 0xC0000000) -> None:
        self.xen = xen
        names = [(f"{d.domid}: {d.name}", d.domid) for d in xen.domains.values()]
        self.domain = widgets.Dropdown(options=names, description="domain")
        self.va = widgets.Text(value=f"{va:#010x}", description="address")
        self.output = widgets.HTML()
        self.steps: list[Step] = []
        self.domain.observe(lambda _change: self.refresh(), names="value")
        self.va.observe(lambda _change: self.refresh(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.domain, self.va]), self.output])
        self.refresh()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def refresh(self) -> None:
        try:
            va = int(self.va.value, 0)
        except ValueError:
            self.output.value = "<i>an address, e.g. 0xc0001000</i>"
            return
        if not 0 <= va <= 0xFFFFFFFF or self.domain.value is None:
            self.output.value = "<i>a 32-bit address</i>"
            return
        self.steps = walk(self.xen, self.xen.domains[self.domain.value], va)
        self.output.value = walk_html(self.steps, va)


# Colour categories for the frame map: (label, colour).
_CATEGORIES = [
    ("free", "#f0f0f0"),
    ("Xen", "#444444"),
    ("unused (allocated)", "#c6dbef"),
    ("writable (mapped RW)", "#6baed6"),
    ("mapped read-only", "#9ecae1"),
    ("L1", "#fdae6b"),
    ("L2", "#f16913"),
    ("L3", "#a63603"),
    ("descriptors", "#74c476"),
]


def frame_categories(xen: Xen) -> list[int]:
    """One category index (into the legend) per machine frame."""
    ft = xen.frametable
    out = []
    for mfn, owner in enumerate(xen.machine.frames.owner):
        if owner == OWNER_FREE:
            out.append(0)
        elif owner == OWNER_XEN:
            out.append(1)
        else:
            kind = PageType(ft.type[mfn])
            if kind is PageType.WRITABLE:
                out.append(3)
            elif kind is PageType.L1:
                out.append(5)
            elif kind in (PageType.L2, PageType.L2_XEN):
                out.append(6)
            elif kind is PageType.L3:
                out.append(7)
            elif kind is PageType.SEG_DESC:
                out.append(8)
            else:
                out.append(4 if ft.count[mfn] > 1 else 2)
    return out


_OWNER_COLOURS = ["#f0f0f0", "#444444", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]


def frame_owners(xen: Xen) -> tuple[list[int], list[str]]:
    """One colour index per machine frame by owner (free, Xen, then each domain), and the
    legend labels."""
    domids = sorted(xen.domains)
    labels = ["free", "Xen", *(_owner_name(xen, d) for d in domids)]
    index = {OWNER_FREE: 0, OWNER_XEN: 1, **{d: 2 + k for k, d in enumerate(domids)}}
    return [index.get(owner, 1) for owner in xen.machine.frames.owner], labels


def frame_map_figure(
    xen: Xen, width: int = 128, max_frames: int = 16384, *, by: str = "type"
) -> go.Figure:
    """Machine memory as a grid of frames, coloured by use (``by="type"``) or by owner
    (``by="owner"``); hover for owner, type and counts."""
    if by == "owner":
        cats, labels = frame_owners(xen)
        colours = [_OWNER_COLOURS[k % len(_OWNER_COLOURS)] for k in range(len(labels))]
    else:
        cats, labels = frame_categories(xen), [label for label, _ in _CATEGORIES]
        colours = [colour for _, colour in _CATEGORIES]
    cats = cats[:max_frames]
    ft = xen.frametable
    rows = [cats[i : i + width] for i in range(0, len(cats), width)]
    hover = [
        [
            f"mfn {mfn:#x}: {_owner_name(xen, xen.machine.frames.owner[mfn])}, "
            f"{PageType(ft.type[mfn]).name}, type count {ft.type_count[mfn]}, count {ft.count[mfn]}"
            for mfn in range(i, min(i + width, len(cats)))
        ]
        for i in range(0, len(cats), width)
    ]
    n = len(labels)
    scale = []
    for k, colour in enumerate(colours):
        scale += [[k / n, colour], [(k + 1) / n, colour]]
    fig = go.Figure(
        go.Heatmap(
            z=rows,
            text=hover,
            hoverinfo="text",
            colorscale=scale,
            zmin=-0.5,
            zmax=n - 0.5,
            colorbar=dict(
                tickvals=list(range(n)),
                ticktext=labels,
                lenmode="fraction",
            ),
        )
    )
    return finish(
        fig,
        f"Machine memory by {by}, {width} frames per row (first {len(cats)} frames)",
        420,
        yaxis=dict(autorange="reversed", title="row"),
        xaxis_title="frame in row",
    )


@dataclass(frozen=True)
class BatchPoint:
    batch: int
    updates: int
    hypercalls: int
    seconds: float

    @property
    def us_per_update(self) -> float:
        return self.seconds / self.updates * 1e6


def batching_experiment(batch_sizes: list[int], updates: int = 8192) -> list[BatchPoint]:
    """Do ``updates`` checked PTE writes in batches of each size (guest ``bench_mmu``);
    count the hypercalls and time them (wall clock, so it varies a little)."""
    image = load_kernel_image(build_guest("bench_mmu"))
    points = []
    for batch in batch_sizes:
        rounds = max(1, updates // batch)
        xen = Xen(machine_mib=64)
        domain = build_domain(
            xen, image, name="bench", memory_mib=16, cmdline=f"rounds={rounds} batch={batch}"
        )
        t0 = time.perf_counter()
        xen.run()
        elapsed = time.perf_counter() - t0
        points.append(
            BatchPoint(
                batch, rounds * batch, domain.stats.hypercalls_by_name()["mmu_update"], elapsed
            )
        )
    return points


def batching_figure(points: list[BatchPoint]) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(
        x=[p.batch for p in points],
        y=[p.us_per_update for p in points],
        mode="lines+markers",
        name="µs per PTE",
    )
    return finish(
        fig,
        "Cost of one validated PTE write against the batch size",
        360,
        xaxis=dict(type="log", title="PTE writes per mmu_update"),
        yaxis=dict(type="log", title="µs per PTE write (wall clock)"),
    )


@dataclass(frozen=True)
class ForkPoint:
    batch: int
    mmu_updates: int  # hypercalls that carried page-table writes
    page_table_writes: int
    seconds: float


def fork_batching_experiment(batch_sizes: list[int], prefault_kib: int = 1024) -> list[ForkPoint]:
    """xenolite's init touches ``prefault_kib`` of heap, forks a worker (copy-on-write:
    every one of its PTEs is downgraded, the child's tables built) and waits; its kernel
    queues page-table writes and sends at most ``batch`` per mmu_update."""
    image = load_kernel_image(build_guest("xenolite"))
    points = []
    for batch in batch_sizes:
        xen = Xen(machine_mib=64)
        cmdline = f"workers=1 prefault={prefault_kib} batch={batch}"
        domain = build_domain(xen, image, name="xenolite", memory_mib=16, cmdline=cmdline)
        t0 = time.perf_counter()
        xen.run()
        elapsed = time.perf_counter() - t0
        writes = int(domain.console.split("batches carried ")[1].split()[0])
        calls = domain.stats.hypercalls_by_name()["mmu_update"]
        points.append(ForkPoint(batch, calls, writes, elapsed))
    return points


def fork_batching_figure(points: list[ForkPoint]) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(
        x=[str(p.batch) for p in points], y=[p.mmu_updates for p in points], name="mmu_update calls"
    )
    fig.add_scatter(
        x=[str(p.batch) for p in points],
        y=[p.seconds * 1e3 for p in points],
        name="run time (ms)",
        yaxis="y2",
        mode="lines+markers",
    )
    return finish(
        fig,
        "xenolite: fork with 1 MiB mapped, by page-table batch size",
        360,
        right=40,
        xaxis_title="page-table writes per mmu_update (at most)",
        yaxis=dict(title="mmu_update hypercalls"),
        yaxis2=dict(title="ms (wall clock)", overlaying="y", side="right"),
    )
