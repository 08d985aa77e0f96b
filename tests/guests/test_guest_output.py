"""The built-in guests, booted on the real hypervisor: exact console output and outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.toolstack.control import boot

EXPECTED = Path(__file__).parent / "expected"


@pytest.mark.parametrize("guest", sorted(p.stem for p in EXPECTED.glob("*.txt")))
def test_guest_prints_exactly_its_expected_console_output_and_powers_off(guest: str) -> None:
    result = boot(guest)
    assert result.console == (EXPECTED / f"{guest}.txt").read_text()
    assert (result.state, result.reason) == ("shutdown", "poweroff")


def test_hello_reports_the_command_line_it_was_given() -> None:
    result = boot("hello", cmdline="console=xen quiet")
    assert "cmdline='console=xen quiet'" in result.console


def test_hello_sees_the_memory_size_it_was_given_in_start_info() -> None:
    assert "nr_pages=2048" in boot("hello", memory_mib=8).console


def test_traps_takes_each_exception_once_and_counts_them_by_vector() -> None:
    result = boot("traps")
    assert result.traps == {
        "#DE divide error": 1,
        "#UD invalid opcode": 1,
        "#GP general protection": 2,
        "#PF page fault": 2,
    }
    assert result.hypercalls["set_trap_table"] == 1
    assert result.hypercalls["update_va_mapping"] == 1  # mapping shared_info


def test_every_bad_hypercall_argument_gets_xens_error_code() -> None:
    result = boot("badcalls")
    assert "FAIL" not in result.console, result.console
    assert result.console.count(" ok\n") == 35
    assert result.console.endswith("all checks passed\n")
    assert result.ok
    # The ring-3 int $0x82 was a trap (#GP), not a hypercall.
    assert result.traps == {"#GP general protection": 1}


def test_the_same_guest_gives_the_same_output_counters_and_virtual_time_every_run() -> None:
    first, second = boot("traps"), boot("traps")
    assert first.console == second.console
    assert first.hypercalls == second.hypercalls
    assert first.traps == second.traps
    assert first.instructions == second.instructions
    assert first.virtual_time_ns == second.virtual_time_ns
