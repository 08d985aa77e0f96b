"""Lab 04 (scheduling): the timeline, the BVT panel, isolation and scaling."""

from __future__ import annotations

from xenlab.build import build_guest
from xenlab.lab.experiments import SPIN, isolation, scaling
from xenlab.lab.scheduling import BVTPanel, gantt_figure, trace_bars
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen
from xenlab.xen.schedule import RoundRobin


def _two_hogs() -> Xen:
    xen = Xen(machine_mib=32, scheduler=RoundRobin(100_000))
    image = load_kernel_image(build_guest("bench_compute"))
    for name in ("a", "b"):
        build_domain(xen, image, name=name, memory_mib=4, cmdline=SPIN)
    xen.run(max_instructions=1_000_000)
    return xen


def test_gantt_has_a_row_per_domain_and_bars_in_microseconds() -> None:
    xen = _two_hogs()
    runs = trace_bars(xen)
    assert sorted(runs) == [0, 1]
    assert sum(e - s for bars in runs.values() for s, e in bars) == 1_000_000
    fig = gantt_figure(xen, names={0: "first", 1: "second"})
    assert [bar.name for bar in fig.data] == ["first", "second"]
    assert fig.data[0].base[0] < fig.data[1].base[0]
    assert abs(fig.data[0].x[0] - 100.0) < 1  # a 100_000-instruction slice is 100 µs
    window = gantt_figure(xen, window=(0, 150_000))
    assert sum(sum(bar.x) for bar in window.data) == 150.0
    assert len(gantt_figure(xen, names=[1]).data) == 1


def test_bvt_panel_gives_shares_by_mcu_advance_and_warp_cuts_latency() -> None:
    panel = BVTPanel((10, 20), instructions=10_000_000)
    shares = panel.run()
    assert abs(shares["hog0"] - 2 / 3) < 0.02 and abs(shares["hog1"] - 1 / 3) < 0.02
    assert panel.share_fig is not None and panel.gantt is not None
    assert panel.latency_ns is not None and panel.latency_ns[0] >= 100_000
    panel.sliders[1].value = 10
    panel.warp.value = True
    panel.button.click()
    assert abs(panel.shares["hog1"] - 0.5) < 0.03
    assert panel.latency_ns is not None and panel.latency_ns[1] < 10_000


def test_antisocial_domains_do_not_take_the_well_behaved_ones_share() -> None:
    result = isolation(instructions=20_000_000)
    assert set(result.shares) == {"good0", "good1", "spinner", "forkbomb"}
    for name in result.well_behaved:
        assert abs(result.shares[name] - 0.25) < 0.03, result.shares
    assert result.worst_loss() < 0.1
    assert result.hypercalls["forkbomb"] > 100 and result.hypercalls["good0"] == 0
    assert "cmdline 'workers=14" in result.console["forkbomb"]


def test_scaling_counts_switches_and_measures_throughput() -> None:
    points = scaling([1, 4], [50_000, 500_000], instructions=4_000_000)
    assert [(p.domains, p.slice) for p in points] == [
        (1, 50_000),
        (1, 500_000),
        (4, 50_000),
        (4, 500_000),
    ]
    assert all(p.instructions >= 4_000_000 and p.throughput > 0 for p in points)
    assert [p.switches for p in points] == [80, 8, 80, 8]
