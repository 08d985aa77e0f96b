"""pingpong: two domains bounce events over an interdomain event channel (paper §3.1),
using the guest side of event channels in guests/lib/events.c."""

from __future__ import annotations

import pytest

from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen


def _run_pair(count: int | None = None, **xen_options):
    """Build pong (domain 0) first, so its port exists when ping (domain 1) binds to it."""
    xen = Xen(**xen_options)
    image = load_kernel_image(build_guest("pingpong"))
    extra = "" if count is None else f" count={count}"
    pong = build_domain(xen, image, name="pong", memory_mib=4, cmdline="role=pong peer=1" + extra)
    ping = build_domain(
        xen, image, name="ping", memory_mib=4, cmdline="role=ping peer=0 port=2" + extra
    )
    result = xen.run(max_instructions=5_000_000)
    return result, pong, ping


def test_ping_and_pong_exchange_ten_events_each_way_and_both_power_off() -> None:
    result, pong, ping = _run_pair()
    assert result.reason == "idle"
    # Port 1 of each domain is its console's, so pong offers port 2 and ping binds port 2.
    assert pong.console == "pong: port 2, waiting\npong: 10 events received\n"
    assert ping.console == "ping: bound local port 2\nping: 10 round trips\n"
    assert (pong.shutdown_reason, ping.shutdown_reason) == ("poweroff", "poweroff")


def test_each_event_costs_one_send_and_arrives_as_one_upcall() -> None:
    _, pong, ping = _run_pair()
    pong_calls, ping_calls = pong.stats.hypercalls_by_name(), ping.stats.hypercalls_by_name()
    assert pong_calls["event_channel_op"] == 1 + 10  # alloc_unbound, then one send per reply
    assert ping_calls["event_channel_op"] == 1 + 10  # bind_interdomain, then one send per ping
    assert pong_calls["set_callbacks"] == ping_calls["set_callbacks"] == 1
    # Each side sleeps once per event it waits for (SCHEDOP_block), plus the shutdown.
    assert pong_calls["sched_op"] == ping_calls["sched_op"] == 10 + 1
    assert pong.stats.upcalls == ping.stats.upcalls == 10


@pytest.mark.parametrize("slice_instructions", [7, 31, 100, 997])
def test_the_exchange_survives_preemption_at_any_instruction(slice_instructions: int) -> None:
    # Tiny slices preempt the guests inside the race windows of the event path:
    # between the check and SCHEDOP_block, and between unmasking and iret.
    result, pong, ping = _run_pair(count=20, slice_instructions=slice_instructions)
    assert result.reason == "idle"
    assert pong.console.endswith("pong: 20 events received\n")
    assert ping.console.endswith("ping: 20 round trips\n")
    assert (pong.shutdown_reason, ping.shutdown_reason) == ("poweroff", "poweroff")
