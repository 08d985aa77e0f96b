"""Time (paper §3.3.2): virtual system time, the emulated TSC, one-shot timers."""

from __future__ import annotations

from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen


def test_a_domain_sleeping_on_a_timer_lets_system_time_jump_to_the_deadline() -> None:
    xen = Xen()
    clock = build_domain(xen, load_kernel_image(build_guest("clock")), name="clock", memory_mib=4)
    xen.run()
    assert clock.shutdown_reason == "poweroff"
    assert "woke by the timer: on time" in clock.console
    assert clock.stats.instructions < 20_000  # it ran for microseconds ...
    assert xen.virtual_time_ns() > 1_000_000  # ... while a millisecond of system time passed


def test_rdtsc_traps_to_xen_and_returns_virtual_time() -> None:
    xen = Xen()
    clock = build_domain(xen, load_kernel_image(build_guest("clock")), name="clock", memory_mib=4)
    xen.run()
    assert clock.stats.emulated >= 3  # two rdtsc, and more inside system_time()
    words = clock.console.split("\n")[0].split()  # "two rdtsc in a row: A then B (...)"
    first, second = int(words[5]), int(words[7])
    assert 0 < second - first < 10  # a few instructions apart, in virtual ns


def test_two_runs_see_exactly_the_same_times() -> None:
    def run() -> str:
        xen = Xen()
        domain = build_domain(xen, load_kernel_image(build_guest("clock")), name="c", memory_mib=4)
        xen.run()
        return domain.console

    assert run() == run()
