"""The events lab's helpers: bitmaps from shared_info, stepping, idle gaps."""

from __future__ import annotations

from xenlab.lab.events import (
    EventStepper,
    bitmap_figure,
    bitmaps,
    idle_gaps,
    pingpong,
    port_rows,
    set_ports,
    step_until,
    timeline_figure,
    vcpu_flags,
)
from xenlab.lab.traps import boot
from xenlab.xen.events import set_pending


def test_a_send_shows_as_a_pending_bit_until_the_upcall_clears_it() -> None:
    xen, pong, ping = pingpong(count=2)
    step_until(xen, lambda: 2 in set_ports(bitmaps(pong)[0]), step=5)
    assert vcpu_flags(pong).upcall_pending == 1 and vcpu_flags(pong).pending_sel == 1
    assert [p for p, bit in enumerate(bitmaps(pong)[1]) if not bit] == [2]  # only 2 unmasked
    step_until(xen, lambda: set_ports(bitmaps(pong)[0]) == [], step=5)
    assert pong.stats.upcalls == 1  # the callback ran and cleared the bit
    assert port_rows(ping)[-1] == (2, "interdomain", "domain 0 port 2")
    assert len(bitmap_figure(pong).data) == 2


def test_a_masked_port_gets_its_pending_bit_but_no_selector() -> None:
    xen, pong, _ = pingpong(count=1)
    xen.run()
    set_pending(pong, 1)  # the console port: masked
    assert set_ports(bitmaps(pong)[0]) == [1] and vcpu_flags(pong).pending_sel == 0


def test_the_stepper_button_runs_instructions() -> None:
    xen, pong, _ = pingpong(count=1)
    stepper = EventStepper(xen, pong, step=100)
    stepper.button.click()
    assert xen.system_instructions == 100 and len(stepper.history) == 2
    assert "after 100 instructions" in stepper.output.value


def test_the_clock_guest_sleeps_through_an_idle_gap() -> None:
    booted = boot("clock")
    (gap,) = idle_gaps(booted.xen)
    assert gap[1] - gap[0] > 900_000
    assert booted.xen.virtual_time_ns() > 50 * booted.xen.virtual_time_ns(booted.domain)
    assert len(timeline_figure(booted.xen).data) == 1
