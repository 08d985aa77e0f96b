"""``xenlab xl``: a domain created by one process is seen, read and destroyed by others."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from xenlab.toolstack import machine
from xenlab.toolstack.machine import Paths, daemon_alive
from xenlab.toolstack.wire import MachineError

WEB = """\
# a guest that reads its name from xenstore, then powers off
name = "web"
kernel = "xshello"
memory = 4
maxmem = 8
on_poweroff = "preserve"   # keep it in the list once it is done
"""


@pytest.fixture
def where() -> Iterator[Paths]:
    top = Path(tempfile.mkdtemp(prefix="xlc-", dir="/tmp"))  # short: socket paths are limited
    paths = Paths(top / "machine")
    try:
        yield paths
    finally:
        with contextlib.suppress(MachineError, OSError):
            machine.stop_machine(paths, timeout=5)
        if daemon_alive(paths) and paths.pid.exists():
            os.kill(int(paths.pid.read_text()), signal.SIGKILL)  # the daemon this test started
        shutil.rmtree(top, ignore_errors=True)


def xl(where: Paths, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
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


def test_create_list_console_destroy_and_stop_from_separate_processes(where, tmp_path):
    cfg = tmp_path / "web.cfg"
    cfg.write_text(WEB)

    created = xl(where, "xl", "create", "web.cfg", cwd=tmp_path)  # a relative path
    assert created.returncode == 0, created.stderr
    assert created.stdout == "Created domain web (id 1)\n"
    assert "Parsing config from web.cfg" in created.stderr
    assert "started the machine" in created.stderr  # the first xl command started it

    listing = xl(where, "xl", "list")
    assert listing.returncode == 0, listing.stderr
    header, dom0, web = listing.stdout.splitlines()
    assert header.split() == ["Name", "ID", "Mem", "VCPUs", "State", "Time(s)"]
    assert dom0.split()[:2] == ["Domain-0", "0"]
    assert web.split()[:5] == ["web", "1", "4", "1", "---s--"]  # shut down, preserved

    console = xl(where, "xl", "console", "web", "--no-follow")
    assert console.returncode == 0, console.stderr
    assert console.stdout.startswith("xshello: console ring connected")
    assert "xshello: xenstore 'name' -> 'web'" in console.stdout

    followed = xl(where, "xl", "console", "1")  # follows until the domain can write no more
    assert followed.returncode == 0
    assert followed.stdout == console.stdout
    assert "domain 1 (web) shut down (poweroff)" in followed.stderr

    dmesg = xl(where, "xl", "dmesg")
    assert "(XEN) domain 1 (web) shut down: poweroff" in dmesg.stdout
    assert "(xl) domain 1 (web): on_poweroff = preserve" in dmesg.stdout

    destroyed = xl(where, "xl", "destroy", "web")
    assert destroyed.returncode == 0, destroyed.stderr
    assert "web" not in xl(where, "xl", "list").stdout
    again = xl(where, "xl", "destroy", "web")
    assert (again.returncode, again.stderr) == (1, "xenlab: error: no domain 'web'\n")

    stopped = xl(where, "machine", "stop")
    assert stopped.returncode == 0 and stopped.stdout.startswith("machine stopped")
    assert not daemon_alive(where) and not where.socket.exists()


def test_pause_unpause_and_mem_set(where, tmp_path):
    (tmp_path / "web.cfg").write_text(WEB)
    assert xl(where, "xl", "create", "-p", str(tmp_path / "web.cfg")).returncode == 0
    assert "--p---" in xl(where, "xl", "list").stdout
    assert xl(where, "xl", "console", "web", "--no-follow").stdout == ""  # not started yet

    mem = xl(where, "xl", "mem-set", "web", "6m")
    assert (mem.returncode, mem.stdout) == (0, "memory/target = 6144 KiB\n")
    too_big = xl(where, "xl", "mem-set", "web", "1g")
    assert too_big.returncode == 1 and "the target must be 1..8 MiB" in too_big.stderr

    assert xl(where, "xl", "unpause", "web").returncode == 0
    twice = xl(where, "xl", "unpause", "web")
    assert twice.returncode == 1 and "is not paused" in twice.stderr
    assert "xshello: read back" in xl(where, "xl", "console", "web", "--no-follow").stdout


def test_a_config_error_names_file_line_and_key_and_starts_nothing(where, tmp_path):
    bad = tmp_path / "bad.cfg"
    bad.write_text('name = "web"\nkernel = "xshello"\nmemory = "64"\n')
    run = xl(where, "xl", "create", str(bad))
    assert run.returncode == 1
    assert f"xenlab: error: {bad}:3: memory: expected an integer number of MiB" in run.stderr
    assert "Traceback" not in run.stderr
    assert not where.socket.exists()  # nothing was asked of a machine


def test_sched_bvt_needs_a_machine_started_with_bvt(where, tmp_path):
    (tmp_path / "web.cfg").write_text(WEB)
    assert xl(where, "xl", "create", str(tmp_path / "web.cfg")).returncode == 0
    refused = xl(where, "xl", "sched-bvt", "web", "--warp", "5")
    assert refused.returncode == 1
    assert "the machine runs the rr scheduler, not bvt" in refused.stderr
    assert "xenlab machine start --sched bvt" in refused.stderr

    assert xl(where, "machine", "stop").returncode == 0
    assert xl(where, "machine", "start", "--sched", "bvt").returncode == 0
    assert xl(where, "xl", "create", str(tmp_path / "web.cfg")).returncode == 0
    bvt = xl(where, "xl", "sched-bvt", "web", "--warp", "5", "--mcu-advance", "20")
    assert bvt.returncode == 0, bvt.stderr
    assert bvt.stdout.splitlines()[1].split() == ["web", "1", "20", "5", "0", "0"]


def test_device_specs_are_checked_before_the_machine_is_asked(where):
    bad = xl(where, "xl", "block-attach", "web", "file:/tmp/disk.img")
    assert bad.returncode == 1
    assert bad.stderr == (
        "xenlab: error: block-attach: 'file:/tmp/disk.img': no vdev: name the guest's device, "
        "e.g. xvda\n"
    )
    vif = xl(where, "xl", "network-attach", "web", "ip=10.0.0.300")
    assert vif.returncode == 1 and "ip '10.0.0.300' is not an IPv4 address" in vif.stderr
    assert not where.socket.exists()


DISK_WORKLOAD = """\
name = "store"
kernel = "xenolite"
memory = 8
cmdline = "blk=1 ops=40"
on_poweroff = "preserve"
"""


def test_block_attach_gives_a_paused_domain_its_disk_and_vfr_lists_the_rules(where, tmp_path):
    (tmp_path / "store.cfg").write_text(DISK_WORKLOAD)
    image = tmp_path / "disk.img"
    image.write_bytes(bytes(1 << 20))
    assert xl(where, "xl", "create", "-p", str(tmp_path / "store.cfg")).returncode == 0
    attach = xl(where, "xl", "block-attach", "store", f"file:{image},xvda,w")
    assert attach.returncode == 0, attach.stderr
    assert xl(where, "xl", "unpause", "store").returncode == 0
    console = xl(where, "xl", "console", "store")
    assert "blk: disk of 2048 sectors" in console.stdout, console.stdout + console.stderr
    assert re.search(
        r"blk: final check: \d+ blocks written, \d+ never written, 0 bad", console.stdout
    )
    assert any(image.read_bytes())  # the guest's writes are in the host file
    rules = xl(where, "xl", "vfr", "list")
    assert rules.returncode == 0, rules.stderr
