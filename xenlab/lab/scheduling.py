"""Lab 04 (scheduling): who ran when, and BVT's knobs on sliders.

* :func:`gantt_figure` — the scheduling trace (``xen.trace``) as a timeline, one row per
  domain, x in µs of system time;
* :func:`share_figure` — each domain's share of the CPU against its target;
* :func:`isolation_figure`, :func:`scaling_figure` — the §4.4 and §4.5 experiments;
* :class:`BVTPanel` — ``mcu_advance`` for up to four CPU hogs and warp on/off for an
  event-driven domain; *Run* builds a fresh Xen, runs it for a fixed budget and redraws
  the shares and the timeline.

Everything runs in virtual time (one guest instruction is one ns), so a run gives the
same numbers every time; everything shown is also kept as plain data for assert cells.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping

import ipywidgets as widgets
import plotly.graph_objects as go

from xenlab.build import build_guest
from xenlab.lab.experiments import SPIN, IsolationResult, ScalingPoint, Share, add_latency_domain
from xenlab.lab.figures import finish
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen
from xenlab.xen.sched_bvt import BVT

_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


def trace_bars(
    xen: Xen,
    window: tuple[int, int] | None = None,
    *,
    max_slices: int = 5_000,
) -> dict[int, list[tuple[int, int]]]:
    """The trace as (start_ns, end_ns) runs per domid, back-to-back slices of the same
    domain merged, clipped to ``window`` (system-time ns; default: the last
    ``max_slices`` slices)."""
    trace = list(xen.trace)
    if window is None:
        trace = trace[-max_slices:]
    else:
        lo, hi = window
        trace = [(d, max(s, lo), min(e, hi)) for d, s, e in trace if e > lo and s < hi]
    runs: dict[int, list[tuple[int, int]]] = {}
    last: int | None = None
    for domid, start, end in trace:
        bars = runs.setdefault(domid, [])
        if last == domid and bars and bars[-1][1] == start:
            bars[-1] = (bars[-1][0], end)
        else:
            bars.append((start, end))
        last = domid
    return runs


def _label(xen: Xen, domid: int, names: Mapping[int, str] | None) -> str:
    if names is not None and domid in names:
        return names[domid]
    domain = xen.domains.get(domid)
    return f"d{domid} {domain.name}" if domain else f"d{domid}"


def gantt_figure(
    xen: Xen,
    names: Mapping[int, str] | Iterable[int] | None = None,
    window: tuple[int, int] | None = None,
    *,
    max_slices: int = 5_000,
) -> go.Figure:
    """Who ran when: one row per domain, a bar per run of slices, x in µs of system
    time.  ``names`` maps domids to row labels (or lists the domids to show);
    ``window`` is a (start, end) range of system time in ns."""
    runs = trace_bars(xen, window, max_slices=max_slices)
    if names is not None and not isinstance(names, Mapping):
        shown = set(names)
        runs = {d: r for d, r in runs.items() if d in shown}
        names = None
    fig = go.Figure()
    for k, domid in enumerate(sorted(runs)):
        label = _label(xen, domid, names)
        bars = runs[domid]
        fig.add_bar(
            name=label,
            orientation="h",
            y=[label] * len(bars),
            base=[s / 1000 for s, _ in bars],
            x=[(e - s) / 1000 for s, e in bars],
            marker_color=_COLOURS[k % len(_COLOURS)],
            hovertemplate="%{y}: %{base:.1f} µs + %{x:.1f} µs<extra></extra>",
        )
    return finish(
        fig,
        "Who ran when (system time)",
        120 + 40 * max(1, len(runs)),
        barmode="overlay",
        xaxis_title="system time (µs)",
        yaxis=dict(autorange="reversed"),
        showlegend=False,
    )


def share_figure(shares: list[Share], labels: list[str] | None = None) -> go.Figure:
    """Each domain's share of the CPU (bars) against its target (markers)."""
    labels = labels or [f"weight {s.weight}" for s in shares]
    fig = go.Figure()
    fig.add_bar(x=labels, y=[s.share * 100 for s in shares], name="measured share")
    fig.add_scatter(
        x=labels,
        y=[s.target * 100 for s in shares],
        mode="markers",
        marker=dict(symbol="line-ew-open", size=28, line=dict(width=3, color="black")),
        name="target",
    )
    return finish(
        fig,
        "CPU share against target",
        340,
        yaxis_title="% of the CPU",
    )


def isolation_figure(result: IsolationResult) -> go.Figure:
    """Each of the four domains' share of the CPU, well-behaved and antisocial, against
    the fair 25%."""
    names = list(result.shares)
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[result.shares[n] * 100 for n in names],
        marker_color=["#2ca02c" if n in result.well_behaved else "#d62728" for n in names],
        name="share",
    )
    fig.add_hline(y=result.target * 100, line_dash="dash", annotation_text="fair share")
    return finish(
        fig,
        "Isolation: green well-behaved, red antisocial",
        340,
        yaxis_title="% of the CPU",
        showlegend=False,
    )


def scaling_figure(points: list[ScalingPoint]) -> go.Figure:
    """Aggregate throughput (guest instructions per CPU second of the host) against the
    number of domains, one line per slice length."""
    fig = go.Figure()
    for slice_ in sorted({p.slice for p in points}):
        line = [p for p in points if p.slice == slice_]
        fig.add_scatter(
            x=[p.domains for p in line],
            y=[p.cpu_throughput / 1e6 for p in line],
            mode="lines+markers",
            name=f"slice {slice_ / 1000:g} µs",
            text=[f"{p.switches} switches" for p in line],
        )
    return finish(
        fig,
        "Scaling: N compute-bound domains under round-robin",
        360,
        xaxis=dict(type="log", title="domains"),
        yaxis=dict(title="M guest instructions per host CPU second", rangemode="tozero"),
    )


class BVTPanel:
    """Sliders for ``mcu_advance`` of up to four CPU hogs, a warp switch for an
    event-driven domain (guest ``latency``), and a Run button: a fresh Xen with those
    parameters runs for ``instructions`` and the shares and timeline are redrawn."""

    def __init__(
        self,
        advances: list[int] | tuple[int, ...] = (10, 10, 10),
        *,
        warp: bool = False,
        instructions: int = 20_000_000,
        mcu: int = 10_000,
        ctx_allow: int = 500_000,
        rounds: int = 5,
        gantt_window_ns: int = 5_000_000,
    ) -> None:
        if not 1 <= len(advances) <= 4:
            raise ValueError("one to four CPU hogs")
        self.instructions = instructions
        self.mcu = mcu
        self.ctx_allow = ctx_allow
        self.rounds = rounds
        self.gantt_window_ns = gantt_window_ns
        self.sliders = [
            widgets.IntSlider(
                value=a, min=1, max=40, description=f"hog{k} adv.", continuous_update=False
            )
            for k, a in enumerate(advances)
        ]
        self.warp = widgets.Checkbox(value=warp, description="warp the latency domain")
        self.button = widgets.Button(description="Run", icon="play", button_style="primary")
        self.status = widgets.HTML("<i>not run yet</i>")
        self.plots = widgets.Output()
        self.xen: Xen | None = None
        self.shares: dict[str, float] = {}
        self.targets: dict[str, float] = {}
        self.latency_ns: tuple[int, int] | None = None  # (mean, worst), once it finished
        self.share_fig: go.Figure | None = None
        self.gantt: go.Figure | None = None
        self.button.on_click(lambda _button: self.run())
        self.widget = widgets.VBox(
            [
                widgets.HBox([widgets.VBox(self.sliders), widgets.VBox([self.warp, self.button])]),
                self.status,
                self.plots,
            ]
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def run(self) -> dict[str, float]:
        """Build, run and redraw; returns each hog's share of the hogs' CPU time."""
        self.button.disabled = True
        try:
            bvt = BVT(mcu=self.mcu, ctx_allow=self.ctx_allow)
            xen = Xen(machine_mib=64, scheduler=bvt)
            hog = load_kernel_image(build_guest("bench_compute"))
            hogs = []
            for k, slider in enumerate(self.sliders):
                domain = build_domain(xen, hog, name=f"hog{k}", memory_mib=4, cmdline=SPIN)
                bvt.set_params(domain, mcu_advance=slider.value)
                hogs.append(domain)
            waiter = add_latency_domain(xen, bvt, rounds=self.rounds, warp=self.warp.value)
            xen.run(max_instructions=self.instructions)
        finally:
            self.button.disabled = False
        self.xen = xen
        total = sum(d.stats.instructions for d in hogs)
        weights = [1 / s.value for s in self.sliders]  # the share goes as 1 / mcu_advance
        self.shares = {d.name: d.stats.instructions / total for d in hogs}
        self.targets = {d.name: w / sum(weights) for d, w in zip(hogs, weights, strict=True)}
        found = re.search(r"mean (\d+) ns late, worst (\d+) ns", waiter.console)
        self.latency_ns = (int(found.group(1)), int(found.group(2))) if found else None
        shares = [
            Share(s.value, d.stats.instructions, self.shares[d.name], self.targets[d.name])
            for s, d in zip(self.sliders, hogs, strict=True)
        ]
        self.share_fig = share_figure(
            shares, [f"{d.name} (adv. {s.value})" for s, d in zip(self.sliders, hogs, strict=True)]
        )
        end = xen.clock.now()
        self.gantt = gantt_figure(xen, window=(max(0, end - self.gantt_window_ns), end))
        if self.latency_ns is None:
            latency = "the latency domain has not finished its rounds"
        else:
            latency = (
                f"latency domain ({'warp' if self.warp.value else 'no warp'}): "
                f"mean {self.latency_ns[0]} ns late, worst {self.latency_ns[1]} ns"
            )
        self.status.value = (
            f"ran {self.instructions:,} instructions; "
            + ", ".join(f"{n} {v:.1%}" for n, v in self.shares.items())
            + f"<br>{html.escape(latency)}"
        )
        self.plots.clear_output(wait=True)
        with self.plots:
            from IPython.display import display

            display(self.share_fig)
            display(self.gantt)
        return self.shares
