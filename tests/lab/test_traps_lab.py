"""The traps lab's helpers: trap tables, bounce-frame lines and the sensitive guest."""

from __future__ import annotations

from xenlab.lab.traps import boot, bounce_frames, observations, trap_table_rows, traps_figure


def test_the_trap_table_of_traps_names_its_four_handlers() -> None:
    booted = boot("traps")
    rows = trap_table_rows(booted.domain, booted.image)
    assert [(r.vector, r.symbol, r.dpl) for r in rows] == [
        (0, "divide_error", 0),
        (6, "invalid_op", 0),
        (13, "general_protection", 0),
        (14, "page_fault", 0),
    ]
    frames = bounce_frames(booted.console)
    assert [f["mnemonic"] for f in frames] == ["#DE", "#UD", "#GP", "#GP", "#PF", "#PF"]
    assert frames[-1]["cr2"] == "pt_base" and frames[-1]["error"] == "0x3"
    assert traps_figure(booted.domain).data[0].y == (1, 1, 2, 2)


def test_the_sensitive_guest_sees_real_state_and_its_syscall_needs_dpl_3() -> None:
    booted = boot("sensitive")
    seen = observations(booted.console)
    assert seen["sgdt"].startswith("base=0xfc000000")
    assert "IF after=1" in seen["popf"]
    assert booted.domain.stats.emulated == 2  # the two rdtsc
    dpl = {r.vector: r.dpl for r in trap_table_rows(booted.domain)}
    assert dpl == {13: 0, 0x80: 3}
    assert "#GP error=0x40a" in booted.console  # int $0x81: 0x81 << 3 | 2
    assert booted.domain.shutdown_reason == "poweroff"


def test_observations_keeps_the_first_line_of_each_name() -> None:
    assert observations("a: 1\na: 2\nnot one: x\n") == {"a": "1"}
