"""The machine daemon: a private socket, a loop that survives bad requests, stale sockets
cleaned up, xl's after-care, and no CPU spent while idle."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from machine_harness import daemon_pid, run_xenlab

from xenlab.toolstack import machine
from xenlab.toolstack.host import Host
from xenlab.toolstack.machine import Machine, Paths, daemon_alive, listen
from xenlab.toolstack.wire import (
    MachineError,
    NotRunning,
    console_bytes,
    console_text,
    decode,
    encode,
    private_dir,
)

CONFIG = """\
name = "web"
kernel = "xshello"
memory = 4
maxmem = 8
on_poweroff = "{on_poweroff}"
"""


def raw_exchange(where: Paths, data: bytes) -> list[dict[str, Any]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(where.socket))
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        replies = sock.makefile("rb").read()
    return [json.loads(line) for line in replies.splitlines()]


# --- The daemon as a process ---------------------------------------------------------------------


def test_start_makes_a_0700_directory_and_a_0600_socket_and_stop_ends_the_daemon(where):
    run = run_xenlab(where, "machine", "start")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("machine started: pid ")
    assert stat.S_IMODE(os.stat(where.dir).st_mode) == 0o700
    assert stat.S_ISSOCK(os.stat(where.socket).st_mode)
    assert stat.S_IMODE(os.stat(where.socket).st_mode) == 0o600
    assert daemon_alive(where)

    status = run_xenlab(where, "machine", "status")
    assert status.returncode == 0
    assert f"pid {daemon_pid(where)}" in status.stdout and "scheduler rr" in status.stdout
    assert "Domain-0" in status.stdout

    again = run_xenlab(where, "machine", "start")
    assert again.returncode == 1 and "already running" in again.stderr

    stop = run_xenlab(where, "machine", "stop")
    assert stop.returncode == 0 and stop.stdout.startswith("machine stopped")
    assert not daemon_alive(where)
    assert not where.socket.exists() and not where.pid.exists()
    gone = run_xenlab(where, "machine", "status")
    assert (gone.returncode, gone.stdout) == (3, "machine: not running\n")


def test_a_malformed_request_gets_an_error_and_the_daemon_survives(where):
    machine.start_machine(where)
    replies = raw_exchange(
        where,
        b'{"cmd": "list"\n'  # truncated JSON
        b"\xff\xfe\n"  # not even UTF-8
        b"[1, 2]\n"  # JSON, but not an object
        b'{"dom": 1}\n'  # no command
        b'{"cmd": "no-such-command"}\n'
        b'{"cmd": "pause", "dom": [1]}\n'  # a mistyped argument
        b'{"cmd": "pause", "dom": 99}\n'  # no such domain
        b'{"cmd": "console", "dom": 0}\n'  # domain 0 is not a target
        b'{"cmd": "list"}\n',
    )
    *errors, last = replies
    assert len(errors) == 8 and all(reply["ok"] is False for reply in errors)
    assert all("\n" not in reply["error"] for reply in errors)
    assert errors[0]["error"].startswith("not a JSON line")
    assert errors[3]["error"].startswith('a request needs "cmd"')
    assert errors[4]["error"].startswith("unknown command 'no-such-command'")
    assert errors[5]["error"] == "pause: argument 'dom' must be a domain id or name, not [1]"
    assert errors[6]["error"] == "no domain '99'"
    assert last["ok"] is True and last["domains"][0]["name"] == "Domain-0"
    assert daemon_alive(where)


def test_a_stale_socket_is_detected_cleaned_up_and_a_new_machine_starts(where):
    pid = machine.start_machine(where)
    os.kill(pid, signal.SIGKILL)  # dies without removing its socket
    deadline = time.monotonic() + 10
    while daemon_alive(where) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert where.socket.exists()

    status = run_xenlab(where, "machine", "status")
    assert status.returncode == 3
    assert f"the machine (pid {pid}) died without stopping cleanly" in status.stderr
    assert "removed its stale socket" in status.stderr
    assert not where.socket.exists()

    where.socket.touch()  # a stale socket again: the first xl command cleans up and starts
    (where.dir / "machine.pid").write_text(f"{pid}\n")
    listing = run_xenlab(where, "xl", "list")
    assert listing.returncode == 0, listing.stderr
    assert "removed its stale socket" in listing.stderr
    assert "started the machine" in listing.stderr
    assert "Domain-0" in listing.stdout


def test_an_idle_machine_sleeps_in_select_and_spends_no_cpu(where):
    pid = machine.start_machine(where)
    stat_file = Path(f"/proc/{pid}/stat")
    if not stat_file.exists():
        pytest.skip("needs /proc")

    def cpu_ticks() -> int:
        fields = stat_file.read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime

    time.sleep(0.2)
    before = cpu_ticks()
    time.sleep(1.0)
    assert cpu_ticks() - before <= 2  # clock ticks (1/100 s): nothing but noise


# --- The daemon in this process -------------------------------------------------------------------


@pytest.fixture
def served(where) -> Iterator[tuple[Machine, Paths]]:
    private_dir(where.dir)
    listener = listen(where.socket)
    daemon = Machine(Host(32), listener, owner_uid=os.getuid())
    try:
        yield daemon, where
    finally:
        listener.close()


def ask(daemon: Machine, cmd: str, **args: Any) -> dict[str, Any]:
    reply = daemon.handle_line(encode({"cmd": cmd, **args}))
    daemon.step(timeout=0)  # runs the guests for a chunk if the request woke any
    return reply


def settle(daemon: Machine) -> None:
    for _ in range(1000):
        if daemon.idle:
            return
        daemon.step(timeout=0)
    raise AssertionError("the guests never went idle")


def create(daemon: Machine, tmp: Path, **settings: str) -> dict[str, Any]:
    from xenlab.build import build_guest

    text = CONFIG.format(on_poweroff=settings.get("on_poweroff", "destroy"))
    text += "".join(f"{key} = {value}\n" for key, value in settings.items() if key != "on_poweroff")
    return ask(
        daemon,
        "create",
        config=text,
        source=str(tmp / "web.cfg"),
        base_dir=str(tmp),
        kernel=str(build_guest("xshello")),
    )


def test_a_peer_with_another_uid_is_refused(where):
    private_dir(where.dir)
    listener = listen(where.socket)
    daemon = Machine(Host(16), listener, owner_uid=os.getuid() + 1)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(where.socket))
            daemon.step(timeout=5)
            reply = json.loads(sock.makefile("rb").readline())
        assert reply == {
            "ok": False,
            "error": f"permission denied: uid {os.getuid()} is not the owner",
        }
        assert not daemon.clients
    finally:
        listener.close()


def test_an_exception_in_a_command_is_an_error_reply_and_is_logged(served, caplog):
    daemon, _ = served

    def broken(request: object) -> dict[str, Any]:
        raise RuntimeError("boom")

    daemon.commands["list"] = broken
    with caplog.at_level(logging.INFO, logger="xenlab.machine"):
        reply = daemon.handle_line(b'{"cmd": "list"}')
    assert reply == {"ok": False, "error": "internal error in list: RuntimeError: boom"}
    assert "list failed" in caplog.text and "RuntimeError: boom" in caplog.text
    assert daemon.handle_line(b'{"cmd": "status"}')["ok"] is True


def test_on_poweroff_destroy_removes_the_domain_but_its_console_stays_readable(served, tmp_path):
    daemon, _ = served
    created = create(daemon, tmp_path)
    assert created["ok"] and (created["domid"], created["name"]) == (1, "web")
    settle(daemon)
    names = [row["name"] for row in ask(daemon, "list")["domains"]]
    assert names == ["Domain-0"]
    console = ask(daemon, "console", dom="web")
    assert console["ok"] and console["ended"] == "shut down (poweroff)"
    assert "xenstore 'name' -> 'web'" in console["data"]
    assert any("(xl) domain 1 (web): on_poweroff = destroy" in line for line in daemon.host.xen.log)


def test_on_reboot_restart_builds_the_domain_again_up_to_a_limit(served, tmp_path):
    from xenlab.build import build_guest
    from xenlab.toolstack.xlserver import MAX_RESTARTS

    daemon, _ = served
    text = 'name = "again"\nkernel = "schedops"\ncmdline = "reason=1"\non_reboot = "restart"\n'
    kernel = str(build_guest("schedops"))
    created = ask(daemon, "create", config=text, source="again.cfg", base_dir="/", kernel=kernel)
    assert created["ok"], created
    settle(daemon)
    log = daemon.host.xen.log
    assert log.count("(xl) domain 1 (again): on_reboot = restart") == 1
    assert f"(xl) again restarted {MAX_RESTARTS} times; not restarting it again" in log
    first = ask(daemon, "console", dom=1)
    assert first["ended"] == "rebooted; it is now domain 2"
    assert [row["name"] for row in ask(daemon, "list")["domains"]] == ["Domain-0"]


def test_console_offsets_let_a_follower_read_only_what_is_new(served, tmp_path):
    daemon, _ = served
    create(daemon, tmp_path, on_poweroff="preserve")
    settle(daemon)
    whole = ask(daemon, "console", dom=1)
    assert whole["ended"] == "shut down (poweroff)" and not whole["more"]
    tail = ask(daemon, "console", dom=1, offset=whole["offset"] - 10)
    assert tail["data"] == whole["data"][-10:]
    assert ask(daemon, "console", dom=1, offset=whole["offset"])["data"] == ""


def test_a_guest_on_the_machine_sees_what_it_sees_in_a_notebooks_host(served, tmp_path):
    daemon, _ = served
    create(daemon, tmp_path, on_poweroff="preserve")
    settle(daemon)
    alone = Host(32)
    domain = alone.create("xshello", name="web", memory_mib=4, max_memory_mib=8)
    alone.run(max_instructions=50_000_000)
    assert ask(daemon, "console", dom="web")["data"] == domain.console
    assert daemon.host.domain("web").stats.instructions == domain.stats.instructions


def test_console_bytes_that_are_not_utf8_cross_the_wire_unchanged():
    raw = b"ok \xff\xfe \xc3\xa9\n"
    line = encode({"ok": True, "data": console_text(raw)})
    assert line.isascii() and line.count(b"\n") == 1
    assert console_bytes(decode(line)["data"]) == raw


def test_mem_set_writes_the_target_in_kib_and_caps_max_pages(served, tmp_path):
    daemon, _ = served
    create(daemon, tmp_path, on_poweroff="preserve")
    assert ask(daemon, "mem-set", dom="web", mib=6) == {"ok": True, "target_kib": 6144}
    host = daemon.host
    assert host.store.read("/local/domain/1/memory/target") == b"6144"
    assert host.domain("web").max_pages == 6 * 256
    too_much = ask(daemon, "mem-set", dom="web", mib=9)
    assert too_much == {
        "ok": False,
        "error": "9 MiB: the target must be 1..8 MiB (domain 1's maxmem)",
    }


def test_sched_bvt_is_refused_unless_the_machine_runs_bvt(served, tmp_path):
    daemon, _ = served
    create(daemon, tmp_path, on_poweroff="preserve")
    reply = ask(daemon, "sched-bvt", dom="web", warp=3)
    assert reply == {"ok": False, "error": "the scheduler is rr, not bvt"}


def test_sched_bvt_sets_and_reports_the_parameters_on_a_bvt_machine(where, tmp_path):
    private_dir(where.dir)
    listener = listen(where.socket)
    daemon = Machine(Host(32, scheduler=machine.make_scheduler("bvt")), listener, owner_uid=0)
    try:
        create(daemon, tmp_path, on_poweroff="preserve", warpl="1000")
        reply = ask(daemon, "sched-bvt", dom="web", mcu_advance=20, warp=5)
        assert reply["params"] == {"mcu_advance": 20, "warp": 5, "warpl": 1000, "warpu": 0}
        assert ask(daemon, "sched-bvt", dom="web", warp=-1)["error"] == "warp must not be negative"
    finally:
        listener.close()


def test_config_settings_for_another_scheduler_come_back_as_warnings(served, tmp_path):
    daemon, _ = served
    reply = create(daemon, tmp_path, on_poweroff="preserve", cpu_weight="512")
    assert reply["warnings"] == [
        f"{tmp_path / 'web.cfg'}: cpu_weight: ignored: the machine's scheduler is rr"
    ]


def test_console_input_goes_into_the_guests_ring(served, tmp_path):
    daemon, _ = served
    create(daemon, tmp_path, on_poweroff="preserve")
    assert ask(daemon, "send-input", dom="web", text="ls\n") == {"ok": True, "sent": 3, "of": 3}


def test_private_dir_refuses_a_directory_others_can_open(tmp_path):
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    os.chmod(open_dir, 0o755)
    with pytest.raises(MachineError, match="mode is 0755"):
        private_dir(open_dir)
    link = tmp_path / "link"
    link.symlink_to(open_dir)
    with pytest.raises(MachineError, match="not a directory"):
        private_dir(link)


def test_connecting_without_a_machine_says_how_to_start_one(where):
    private_dir(where.dir)
    with pytest.raises(NotRunning, match="xenlab machine start"):
        machine.connect(where)
