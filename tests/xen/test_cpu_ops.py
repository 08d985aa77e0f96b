"""CPU hypercalls and trap delivery from real guests (Table 1, "protection"/"exceptions")."""

from __future__ import annotations

from pathlib import Path

from xenlab.toolstack.control import boot

GUESTS = Path(__file__).parent / "guests"


def test_fpu_taskswitch_makes_the_next_fpu_use_trap_once_and_iret_restores_the_virtual_if():
    result = boot(GUESTS / "cpuops")
    assert result.ok, result.console
    assert result.console.count(" ok\n") == 6
    assert result.traps == {"#NM device not available": 1}
    assert result.hypercalls["iret"] == 1


def test_a_handler_that_cannot_run_gets_its_domain_crashed_instead_of_a_loop():
    result = boot(GUESTS / "badhandler")
    assert result.state == "crashed"
    assert "#PF page fault at 0x00600000: trap delivery faulted again" in result.reason
    assert "still alive" not in result.console
    assert result.traps == {"#UD invalid opcode": 1, "#PF page fault": 1}


def test_a_bounce_frame_that_cannot_be_written_goes_to_the_failsafe_callback():
    result = boot(GUESTS / "failsafe")
    assert result.ok, result.console
    assert "failsafe callback: the #UD frame could not be written" in result.console
    assert result.traps == {"#UD invalid opcode": 1, "failsafe callback": 1}
