"""What the tests of the machine process share: a private machine directory that is always
cleaned up, and the ``xenlab`` command run as a separate process against it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from xenlab.toolstack import machine
from xenlab.toolstack.machine import Paths, daemon_alive
from xenlab.toolstack.wire import MachineError


def run_xenlab(
    where: Paths, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m xenlab ARGS`` in a process of its own, reaching the machine at ``where``."""
    env = {**os.environ, "TQDM_DISABLE": "1", "XENLAB_MACHINE_DIR": str(where.dir)}
    return subprocess.run(
        [sys.executable, "-m", "xenlab", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def daemon_pid(where: Paths) -> int | None:
    try:
        return int(where.pid.read_text())
    except (OSError, ValueError):
        return None


def stop_for_sure(where: Paths) -> None:
    """Stop the daemon a test started, even when the test failed half-way."""
    with contextlib.suppress(MachineError, OSError):
        machine.stop_machine(where, timeout=5)
    pid = daemon_pid(where)
    if daemon_alive(where) and pid:
        os.kill(pid, signal.SIGKILL)  # the daemon this test started, by its id


def machine_dir() -> Iterator[Paths]:
    """A fresh machine directory (short: a socket's path must fit in 107 bytes, which
    pytest's tmp_path may not), its daemon stopped and the directory removed afterwards."""
    top = Path(tempfile.mkdtemp(prefix="xlm-", dir="/tmp"))
    paths = Paths(top / "machine")
    try:
        yield paths
    finally:
        stop_for_sure(paths)
        shutil.rmtree(top, ignore_errors=True)
