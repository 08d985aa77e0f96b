"""CPU hypercalls and trap delivery from real guests (Table 1, "protection"/"exceptions")."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_fpu_state_and_cr0_ts_survive_both_system_call_roads():
    result = boot(GUESTS / "fpustate")
    assert result.ok, result.console
    assert result.console.count(" ok\n") == 3
    # 8 through the direct gate; the first of them came through Xen and armed it.
    assert result.direct_traps == 7
    assert result.traps["int 0x80"] == 8
    assert result.traps["int 0x81"] == 9
    assert result.traps["#NM device not available"] == 1


@pytest.mark.parametrize(
    ("case", "reason", "direct"),
    [
        (1, "cannot deliver int 0x80: writing the bounce frame faulted", 1),
        (2, "trap delivery faulted again", 0),
        (3, "cannot deliver int 0x80: writing the bounce frame faulted", 0),
    ],
)
def test_the_direct_gate_is_never_armed_over_a_stack_or_handler_xen_cannot_vouch_for(
    case: int, reason: str, direct: int
):
    # A fault inside the CPU's own delivery would take the whole process down (field
    # notes, trap 1 (C)): each case must end with this domain crashed and Xen running.
    result = boot(GUESTS / "directgate", cmdline=f"case={case}")
    assert result.state == "crashed", result.console
    assert reason in result.reason
    assert result.direct_traps == direct
