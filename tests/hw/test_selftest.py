"""The machine self-test passes on the pinned Unicorn and fails loudly when an assumption breaks."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from xenlab.hw import cpu as cpu_module
from xenlab.hw import selftest
from xenlab.hw.liveenv import CalibrationError, LiveEnv


class _LiveEnvThatCannotResetFaults(LiveEnv):
    """As if ``old_exception`` had been calibrated at the wrong offset: resets go nowhere."""

    def __init__(self, uc: object) -> None:
        super().__init__(uc)
        self.old_exception = ctypes.c_int32(-1)


def test_the_self_test_passes_on_the_installed_unicorn() -> None:
    selftest.run_selftest()


def test_faults_that_escalate_to_a_double_fault_fail_the_self_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpu_module, "LiveEnv", _LiveEnvThatCannotResetFaults)
    with pytest.raises(CalibrationError, match=r"#DF \(8\): old_exception") as info:
        selftest.run_selftest()
    assert "xenlab needs unicorn==2.1.4" in str(info.value)


def test_a_tlb_flush_that_flushes_nothing_fails_the_self_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpu_module.CPU, "flush_tlb", lambda self: None)
    with pytest.raises(CalibrationError, match="flush_tlb did not drop a stale translation"):
        selftest.run_selftest()


def test_ensure_selftest_runs_the_self_test_once_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    monkeypatch.setattr(selftest, "_outcome", selftest._NOT_RUN)
    monkeypatch.setattr(selftest, "run_selftest", lambda: calls.append(1))
    selftest.ensure_selftest()
    selftest.ensure_selftest()
    assert calls == [1]


def test_ensure_selftest_repeats_a_failure_without_rerunning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []

    def failing() -> None:
        calls.append(1)
        raise CalibrationError("broken")

    monkeypatch.setattr(selftest, "_outcome", selftest._NOT_RUN)
    monkeypatch.setattr(selftest, "run_selftest", failing)
    for _ in range(2):
        with pytest.raises(CalibrationError, match="broken"):
            selftest.ensure_selftest()
    assert calls == [1]


def test_python_dash_m_reports_ok_and_exits_0() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "xenlab.hw.selftest"], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout) == (0, "xenlab machine self-test: ok\n")
