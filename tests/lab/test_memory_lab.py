"""The memory lab's inspector, frame map and batching experiment, driven headlessly."""

from __future__ import annotations

from collections import Counter

from xenlab.build import build_guest
from xenlab.lab.memory import (
    PageTableInspector,
    batching_experiment,
    frame_categories,
    frame_map_figure,
    walk,
)
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen


def _xen_with_hello():
    xen = Xen(machine_mib=32)
    hello = build_domain(xen, load_kernel_image(build_guest("hello")), name="hello", memory_mib=4)
    return xen, hello


def test_a_walk_of_a_kernel_address_reaches_a_writable_frame_of_the_domain() -> None:
    xen, hello = _xen_with_hello()
    steps = walk(xen, hello, 0xC0000000)
    assert [(s.level, s.type) for s in steps] == [
        ("L3", "L2_XEN"),
        ("L2", "L1"),
        ("L1", "WRITABLE"),
    ]
    assert steps[-1].target_mfn == hello.p2m[0]


def test_a_walk_of_an_unmapped_address_stops_at_the_missing_entry() -> None:
    xen, hello = _xen_with_hello()
    steps = walk(xen, hello, 0x00400000)
    assert len(steps) == 1 and steps[0].target_mfn is None


def test_the_inspector_follows_its_address_box_and_tolerates_nonsense() -> None:
    xen, _ = _xen_with_hello()
    inspector = PageTableInspector(xen)
    inspector.va.value = "0xf5800000"  # the read-only M2P in Xen's hole
    assert inspector.steps[-1].owner == "Xen"
    inspector.va.value = "not an address"
    assert "an address" in inspector.output.value


def test_the_frame_map_has_one_cell_per_frame_and_both_l3s_are_there() -> None:
    xen, _ = _xen_with_hello()
    build_domain(xen, load_kernel_image(build_guest("hello")), name="again", memory_mib=4)
    cats = Counter(frame_categories(xen))
    assert sum(cats.values()) == xen.machine.memory.nr_frames
    assert cats[7] == 2  # one L3 per domain
    assert len(frame_map_figure(xen, width=64).data[0].z) == xen.machine.memory.nr_frames // 64


def test_the_batching_experiment_counts_one_hypercall_per_batch() -> None:
    points = batching_experiment([1, 512], updates=1024)
    assert [(p.batch, p.hypercalls, p.updates) for p in points] == [(1, 1024, 1024), (512, 2, 1024)]


def test_the_fork_experiment_does_the_same_writes_in_fewer_hypercalls_when_batched() -> None:
    from xenlab.lab.memory import fork_batching_experiment

    single, batched = fork_batching_experiment([1, 2048], prefault_kib=256)
    assert single.page_table_writes == batched.page_table_writes
    assert single.mmu_updates > batched.mmu_updates


def test_the_frame_map_by_owner_has_a_colour_for_each_domain() -> None:
    xen, _ = _xen_with_hello()
    figure = frame_map_figure(xen, by="owner")
    assert list(figure.data[0].colorbar.ticktext) == ["free", "Xen", "d0 hello"]
