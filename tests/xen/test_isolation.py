"""A misbehaving guest is stopped or crashed with a reason; the hypervisor and the other
domains carry on."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.build import build_guest
from xenlab.toolstack.builder import BuildError, build_domain, plan_layout
from xenlab.toolstack.control import BootError, boot
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.domain import DomainState
from xenlab.xen.hypervisor import Xen

EXPECTED = Path(__file__).parents[1] / "guests" / "expected"


def test_a_fault_with_no_handler_crashes_the_domain_with_registers_and_disassembly() -> None:
    result = boot("oops")
    assert result.state == "crashed"
    assert result.reason.startswith("#PF page fault at 0xc")
    assert "error code 0x2 cr2 0x00000000 with no handler" in result.reason
    crash = result.crash
    assert crash is not None
    assert crash.registers["cr2"] == 0 and crash.registers["cs"] == 0xE019
    assert crash.disassembly[0].startswith("=> ")
    assert "mov dword ptr [0], 0xdead" in crash.disassembly[0]
    assert "still alive" not in result.console


def test_a_crashed_domain_leaves_its_neighbour_running_to_completion() -> None:
    xen = Xen()
    oops = build_domain(xen, load_kernel_image(build_guest("oops")), name="oops", memory_mib=8)
    traps = build_domain(xen, load_kernel_image(build_guest("traps")), name="traps", memory_mib=8)
    xen.run()
    assert oops.state is DomainState.CRASHED
    assert traps.state is DomainState.SHUTDOWN and traps.shutdown_reason == "poweroff"
    assert traps.console == (EXPECTED / "traps.txt").read_text()


def test_two_domains_interleaved_in_small_slices_each_see_only_their_own_world() -> None:
    xen = Xen(slice_instructions=500)
    hello = build_domain(xen, load_kernel_image(build_guest("hello")), name="hello", memory_mib=8)
    badcalls = build_domain(
        xen, load_kernel_image(build_guest("badcalls")), name="badcalls", memory_mib=8
    )
    xen.run()
    assert hello.console == (EXPECTED / "hello.txt").read_text().replace(
        "nr_pages=4096", "nr_pages=2048"
    )
    assert badcalls.console.endswith("all checks passed\n")
    assert hello.stats.slices > 5 and badcalls.stats.slices > 5  # they really took turns
    owners = {xen.machine.frames.owner[mfn] for mfn in hello.p2m}
    assert owners == {hello.domid}
    assert not set(hello.p2m) & set(badcalls.p2m)


def test_a_guest_in_an_endless_loop_is_stopped_when_its_instruction_budget_is_spent() -> None:
    result = boot("bench_compute", cmdline="n=4000000000", max_instructions=3_000_000)
    assert result.state == "running"
    assert result.reason == "instruction budget of 3000000 spent"
    assert result.instructions == 3_000_000


def test_a_destroyed_domains_frames_are_scrubbed_and_reused() -> None:
    xen = Xen(machine_mib=16)
    image = load_kernel_image(build_guest("hello"))
    for _ in range(3):  # 3 x 8 MiB would not fit in 16 MiB without reuse
        domain = build_domain(xen, image, name="hello", memory_mib=8)
        xen.run()
        assert domain.shutdown_reason == "poweroff"
        xen.destroy_domain(domain)
    assert xen.machine.frames.owned_by(domain.domid) == []


def test_too_little_memory_for_the_image_is_a_clear_error() -> None:
    image = load_kernel_image(build_guest("hello"))
    with pytest.raises(BuildError, match="too little memory"):
        plan_layout(image, nr_pages=8)


def test_an_impossible_memory_size_is_a_clear_error() -> None:
    with pytest.raises(BootError, match=r"memory must be 1\.\.1024 MiB"):
        boot("hello", memory_mib=0)


def test_a_domain_larger_than_the_machine_is_refused_and_nothing_is_left_behind() -> None:
    xen = Xen(machine_mib=16)
    free = xen.machine.frames.nr_free
    with pytest.raises(BuildError, match="cannot allocate"):
        build_domain(xen, load_kernel_image(build_guest("hello")), name="big", memory_mib=64)
    assert xen.machine.frames.nr_free == free
    assert xen.domains == {}


def test_a_guest_running_past_the_wall_clock_limit_is_stopped() -> None:
    result = boot("bench_compute", cmdline="n=4000000000", timeout=0.2)
    assert result.state == "running"
    assert result.reason == "wall-clock limit of 0.2 s reached"
