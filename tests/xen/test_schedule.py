"""sched_op from real guests: yield ends the slice, block waits for an event, shutdown
records its reason; the round-robin scheduler takes runnable domains in turn."""

from __future__ import annotations

from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.control import boot
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.domain import DomainState
from xenlab.xen.hypervisor import Xen


def _xen_with(*cmdlines: str) -> tuple[Xen, list]:
    xen = Xen(slice_instructions=10_000_000)  # slices so long that only yields switch
    image = load_kernel_image(build_guest("schedops"))
    domains = [
        build_domain(xen, image, name=f"s{i}", memory_mib=4, cmdline=c)
        for i, c in enumerate(cmdlines)
    ]
    return xen, domains


def test_each_yield_ends_the_slice_and_the_other_domain_runs() -> None:
    xen, (a, b) = _xen_with("yields=3", "yields=3")
    order = []
    a.console_listeners.append(lambda data: order.append("a"))
    b.console_listeners.append(lambda data: order.append("b"))
    xen.run()
    assert a.stats.slices == b.stats.slices == 4  # three yields, then the run to shutdown
    # Each line is printed after its yield returns, so the slices alternate a, b, a, b ...
    # and in the last slice each domain prints its third line and its shutdown line.
    assert order == ["a", "b", "a", "b", "a", "a", "b", "b"]
    assert a.shutdown_reason == b.shutdown_reason == "poweroff"


def test_shutdown_records_the_reason_the_guest_gave() -> None:
    result = boot("schedops", cmdline="yields=0 reason=1")
    assert (result.state, result.reason) == ("shutdown", "reboot")


def test_an_unknown_shutdown_reason_is_refused_and_the_guest_carries_on() -> None:
    result = boot("schedops", cmdline="yields=0 reason=42")
    assert "shutdown returned: the reason was refused" in result.console
    assert (result.state, result.reason) == ("shutdown", "crash")


def test_block_with_nothing_pending_leaves_the_domain_blocked_and_unmasks_events() -> None:
    xen, (domain,) = _xen_with("yields=0 block=1")
    assert xen.run().reason == "idle"
    assert domain.state is DomainState.BLOCKED
    vcpu_info = domain.shared_info_mfn << 12
    assert xen.machine.memory.view[vcpu_info + 1] == 0  # evtchn_upcall_mask cleared
    assert "woke up" not in domain.console


def test_a_blocked_domain_does_not_stop_the_others() -> None:
    xen, (blocked, runner) = _xen_with("yields=0 block=1", "yields=2")
    xen.run()
    assert blocked.state is DomainState.BLOCKED
    assert runner.state is DomainState.SHUTDOWN and runner.shutdown_reason == "poweroff"


def test_a_domain_is_created_paused_and_runs_only_once_started() -> None:
    xen = Xen()
    domain = xen.create_domain("empty", max_pages=16)
    assert domain.state is DomainState.PAUSED
    assert xen.run().reason == "idle"  # nothing runnable: the empty domain is never run
    assert domain.stats.instructions == 0


def test_a_paused_domain_is_not_run_until_unpaused_and_the_trace_shows_who_ran() -> None:
    xen, (a, b) = _xen_with("yields=2", "yields=2")
    xen.pause_domain(a)
    xen.run()
    assert b.shutdown_reason == "poweroff" and a.stats.instructions == 0
    xen.unpause_domain(a)
    xen.run()
    assert a.shutdown_reason == "poweroff"
    ran = [domid for domid, start, end in xen.trace]
    assert ran == [b.domid] * 3 + [a.domid] * 3
    assert all(start < end for _, start, end in xen.trace)


def test_stepping_in_budgets_shorter_than_a_slice_still_shares_the_cpu():
    # A run that ends on its instruction budget must not consume a round-robin turn:
    # stepped 20,000 instructions at a time, two compute domains still alternate.
    image = load_kernel_image(build_guest("bench_compute"))
    xen = Xen()
    a = build_domain(xen, image, name="a", memory_mib=4, cmdline="n=4000000000")
    b = build_domain(xen, image, name="b", memory_mib=4, cmdline="n=4000000000")
    for _ in range(20):
        assert xen.run(max_instructions=20_000).reason == "budget"
    assert a.stats.instructions == b.stats.instructions == 200_000
