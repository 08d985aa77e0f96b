"""The tour lab's widget, driven headlessly the way a notebook cell drives it."""

from __future__ import annotations

from xenlab.lab.tour import BootPanel, hypercall_stub, summary_figure, summary_rows


def test_clicking_the_button_boots_the_guest_and_fills_console_and_status() -> None:
    panel = BootPanel("hello")
    panel.button.click()
    assert panel.result is not None and panel.result.ok
    assert panel.console_text.startswith("Hello from xenlab!")
    assert "Hello from xenlab!" in panel.console.value
    assert "shutdown: poweroff" in panel.status.value
    assert not panel.button.disabled


def test_an_unknown_guest_shows_an_error_in_the_status_line() -> None:
    panel = BootPanel("no-such-guest")
    assert panel.boot() is None
    assert "error:" in panel.status.value and "no-such-guest" in panel.status.value


def test_a_runaway_guest_is_stopped_and_said_so() -> None:
    panel = BootPanel("bench_compute", cmdline="n=4000000000", max_instructions=1_000_000)
    result = panel.boot()
    assert result is not None and result.state == "running"
    assert "instruction budget of 1000000 spent" in panel.status.value


def test_the_summary_shows_each_hypercall_and_trap_with_its_count() -> None:
    panel = BootPanel("traps")
    panel.boot()
    figure = summary_figure(panel.result)
    bars = {trace.name: dict(zip(trace.x, trace.y, strict=True)) for trace in figure.data}
    assert bars["traps"]["#PF page fault"] == 2
    assert bars["hypercalls"]["set_trap_table"] == 1
    rows = dict(summary_rows(panel.result))
    assert rows["trap #GP general protection"] == "2"


def test_the_hypercall_stub_is_mov_int_ret() -> None:
    assert [line.split(": ")[1] for line in hypercall_stub("console_io")] == [
        "mov eax, 0x12",
        "int 0x82",
        "ret",
    ]
    assert hypercall_stub("iret")[-1].endswith("int 0x82")  # iret's stub never returns
