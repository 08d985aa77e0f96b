"""The machine: one long-running xenlab host that shells talk to with ``xl``.

A real Xen host keeps running between commands: ``xl create`` returns, the guest runs on,
``xl list`` shows it from another shell.  xenlab's hypervisor is a Python object
(``Host``: Xen, domain 0, xenstored, xenconsoled), so to outlive one command it lives in
a daemon process — the *machine* — and ``xl`` becomes a client (paper §2.3: the control
software in domain 0 drives the hypervisor through a control interface; here that
interface is a socket to the process holding it, see ``wire.py``).

Who does what:

* ``start`` / ``stop`` / ``status`` / ``connect`` (the client side) find the machine's
  private directory (``wire.machine_dir``), start ``python -m xenlab.toolstack.machine
  serve`` in a new session, and notice a daemon that died (its lock is free but its
  socket is still there) and clean up after it.
* :class:`Machine` (the daemon) runs guests in chunks of ``CHUNK_INSTRUCTIONS`` while any
  can run and, between chunks, answers requests from the socket without waiting; when every
  domain is blocked with nothing to wake it, it sleeps in ``select`` and costs no CPU.
  Chunks are counted in guest instructions, never in wall time, so what guests see does not
  depend on how fast the host is (only requests, which arrive when they arrive, do).
* ``xlserver.Toolstack`` does what each xl request asks of the ``Host``, and xl's part
  after creation: the ``on_poweroff`` / ``on_reboot`` / ``on_crash`` actions, and a
  console log per domain for ``xl console`` to follow.

Notebooks do not need any of this: they hold a ``Host`` in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenlab.toolstack.wire import (
    LOCK_NAME,
    LOG_NAME,
    MAX_LINE,
    PID_NAME,
    SOCKET_NAME,
    Client,
    MachineError,
    NotRunning,
    Request,
    WireError,
    check_socket_path,
    decode,
    encode,
    machine_dir,
    private_dir,
)

if TYPE_CHECKING:
    from xenlab.toolstack.host import Host

DEFAULT_MACHINE_MIB = 256
SCHEDULERS = ("rr", "bvt", "credit")
CHUNK_INSTRUCTIONS = 200_000  # ~4 ms of guest code: requests wait at most this long
SEND_TIMEOUT_S = 5.0  # a client that does not read its replies is dropped
EXIT_ALREADY_RUNNING = 3  # `serve` found another daemon holding the lock

log = logging.getLogger("xenlab.machine")


# --- The client side: start, stop, status ------------------------------------------------------


@dataclass(frozen=True)
class Paths:
    """The files of the machine in its private directory."""

    dir: Path

    @property
    def socket(self) -> Path:
        return self.dir / SOCKET_NAME

    @property
    def lock(self) -> Path:
        return self.dir / LOCK_NAME

    @property
    def pid(self) -> Path:
        return self.dir / PID_NAME

    @property
    def log(self) -> Path:
        return self.dir / LOG_NAME


def paths(directory: Path | None = None) -> Paths:
    return Paths((directory or machine_dir()).absolute())


def daemon_alive(where: Paths) -> bool:
    """Whether a daemon holds the machine's lock (it does from start to exit, so a free
    lock next to a socket means the daemon died without cleaning up)."""
    try:
        fd = os.open(where.lock, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops the lock if we took it
    return False


def clean_stale(where: Paths) -> str | None:
    """Remove the socket and pid file of a daemon that died; a message saying so."""
    if not (where.socket.exists() or where.pid.exists()) or daemon_alive(where):
        return None
    pid = _read_pid(where)
    where.socket.unlink(missing_ok=True)
    where.pid.unlink(missing_ok=True)
    who = f" (pid {pid})" if pid else ""
    return (
        f"the machine{who} died without stopping cleanly; removed its stale socket "
        f"{where.socket} (its log: {where.log})"
    )


def connect(
    where: Paths,
    *,
    start: bool = False,
    machine_mib: int = DEFAULT_MACHINE_MIB,
    sched: str = "rr",
    notice: Callable[[str], None] = lambda _: None,
) -> Client:
    """A connection to the running machine; with ``start``, start one if none runs (the
    first ``xl`` command does).  ``notice`` receives messages for the user."""
    try:
        return Client(where.socket)
    except NotRunning:
        pass
    if stale := clean_stale(where):
        notice(stale)
    if not start:
        raise NotRunning("the machine is not running (start it with 'xenlab machine start')")
    pid = start_machine(where, machine_mib=machine_mib, sched=sched, notice=notice)
    notice(f"started the machine (pid {pid}, scheduler {sched}, {machine_mib} MiB)")
    return Client(where.socket)


def start_machine(
    where: Paths,
    *,
    machine_mib: int = DEFAULT_MACHINE_MIB,
    sched: str = "rr",
    timeout: float = 60.0,
    notice: Callable[[str], None] = lambda _: None,
) -> int:
    """Start the daemon in its own session and wait until it answers; its pid."""
    if sched not in SCHEDULERS:
        raise MachineError(f"unknown scheduler {sched!r} (choose from {', '.join(SCHEDULERS)})")
    private_dir(where.dir)
    try:
        with Client(where.socket, timeout=10) as client:
            pid = client.call("status")["pid"]
        raise MachineError(f"the machine is already running (pid {pid})")
    except NotRunning:
        pass
    if stale := clean_stale(where):
        notice(stale)
    deadline = time.monotonic() + timeout
    child = _spawn(where, machine_mib, sched)
    while True:
        try:
            with Client(where.socket, timeout=10) as client:
                return int(client.call("status")["pid"])
        except NotRunning:
            pass
        code = child.poll()
        if code == EXIT_ALREADY_RUNNING and not daemon_alive(where):
            child = _spawn(where, machine_mib, sched)  # the other one went away: try again
        elif code not in (None, EXIT_ALREADY_RUNNING):
            raise MachineError(
                f"the machine did not start (exit status {code}): {_last_log_line(where)}"
            )
        if time.monotonic() > deadline:
            raise MachineError(f"the machine did not answer within {timeout:g} s (see {where.log})")
        time.sleep(0.05)


def _spawn(where: Paths, machine_mib: int, sched: str) -> subprocess.Popen[bytes]:
    # The daemon runs from / in a new session (no terminal's Ctrl-C reaches it), writes
    # to its log, and finds xenlab where this process found it.
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    logfd = os.open(where.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "xenlab.toolstack.machine",
                "serve",
                "--dir",
                str(where.dir),
                "--memory",
                str(machine_mib),
                "--sched",
                sched,
            ],
            stdin=subprocess.DEVNULL,
            stdout=logfd,
            stderr=logfd,
            cwd="/",
            env=env,
            start_new_session=True,
        )
    finally:
        os.close(logfd)


def stop_machine(where: Paths, *, timeout: float = 15.0) -> int:
    """Ask the machine to exit and wait until it has; its pid."""
    with Client(where.socket, timeout=timeout) as client:
        pid = int(client.call("stop")["pid"])
    deadline = time.monotonic() + timeout
    while daemon_alive(where):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGTERM)  # our own daemon, by its id
            raise MachineError(f"the machine (pid {pid}) did not stop in time; sent it SIGTERM")
        time.sleep(0.02)
    return pid


def machine_status(where: Paths) -> dict[str, Any] | None:
    """The running machine's status reply, or None if it does not run."""
    try:
        with Client(where.socket, timeout=10) as client:
            return client.call("status")
    except NotRunning:
        return None


def _read_pid(where: Paths) -> int | None:
    try:
        return int(where.pid.read_text().strip())
    except (OSError, ValueError):
        return None


def _last_log_line(where: Paths) -> str:
    try:
        lines = where.log.read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    return f"{lines[-1]} (log: {where.log})" if lines else f"see {where.log}"


# --- The daemon ---------------------------------------------------------------------------------


class Machine:
    """The daemon's state and request loop: one ``Host`` served on ``listener``."""

    def __init__(self, host: Host, listener: socket.socket, *, owner_uid: int) -> None:
        self.host = host
        self.listener = listener
        self.listener.setblocking(False)
        self.owner_uid = owner_uid
        self.started = time.monotonic()
        self.clients: dict[socket.socket, bytearray] = {}
        self.wakeup_fd: int | None = None  # a signal's self-pipe, to end a blocking select
        self.idle = True  # nothing can run until a request changes something
        self.stopping = False
        from xenlab.toolstack.xlserver import Toolstack  # the hypervisor's modules: only here

        self.toolstack = Toolstack(host)
        # The commands, by wire name: the machine's own two, then xl's (xlserver.py).
        self.commands: dict[str, Callable[[Request], dict[str, Any]]] = {
            "status": self.cmd_status,
            "stop": self.cmd_stop,
            **self.toolstack.commands,
        }

    # ------------------------------------------------------------------ the loop
    def serve_forever(self) -> None:
        while not self.stopping:
            self.step()

    def step(self, timeout: float | None = None) -> None:
        """Answer what is waiting (blocking up to ``timeout``, by default: forever when
        idle, not at all while guests can run), then run guests for one chunk."""
        if not self.idle:
            timeout = 0.0
        waiting = [self.listener, *self.clients]
        if self.wakeup_fd is not None:
            waiting.append(self.wakeup_fd)
        readable, _, _ = select.select(waiting, [], [], timeout)
        for ready in readable:
            if ready is self.listener:
                self._accept()
            elif ready == self.wakeup_fd:
                os.read(self.wakeup_fd, 512)  # the signal handler has set `stopping`
            elif ready in self.clients:
                self._receive(ready)
        if not self.idle and not self.stopping:
            self._run_chunk()
        if self.toolstack.after_run():  # xl's on_poweroff / on_reboot / on_crash
            self.idle = False  # a restarted domain: run it

    def _run_chunk(self) -> None:
        try:
            result = self.host.run(max_instructions=CHUNK_INSTRUCTIONS)
        except Exception as exc:  # a hypervisor bug: keep the machine answering
            log.exception("the run loop failed")
            self.host.xen.log.append(f"(xenlab) the run loop failed: {exc!r}; machine halted")
            self.idle = True
            return
        self.idle = result.reason == "idle"

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        uid = _peer_uid(conn)
        if uid is not None and uid != self.owner_uid:
            # The directory and the socket's mode already keep others out; this is the
            # second lock on the door, as xenstored checks its socket's peer.
            log.warning("refused a connection from uid %s", uid)
            with contextlib.suppress(OSError):
                conn.sendall(encode(_error(f"permission denied: uid {uid} is not the owner")))
            conn.close()
            return
        conn.settimeout(SEND_TIMEOUT_S)
        self.clients[conn] = bytearray()

    def _receive(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        buffer = self.clients[conn]
        buffer += data
        while (end := buffer.find(b"\n")) >= 0:
            line = bytes(buffer[:end])
            del buffer[: end + 1]
            if not self._reply(conn, self.handle_line(line)):
                return
        if len(buffer) > MAX_LINE:
            self._reply(conn, _error(f"request longer than {MAX_LINE} bytes"))
            self._drop(conn)

    def _reply(self, conn: socket.socket, reply: dict[str, Any]) -> bool:
        try:
            conn.sendall(encode(reply))
        except OSError as exc:
            log.warning("dropped a client that does not read its replies: %s", exc)
            self._drop(conn)
            return False
        return True

    def _drop(self, conn: socket.socket) -> None:
        self.clients.pop(conn, None)
        conn.close()

    def handle_line(self, line: bytes) -> dict[str, Any]:
        """One request line to one reply: never raises, whatever the line holds."""
        from xenlab.toolstack.control import BootError
        from xenlab.toolstack.xlcfg import XlConfigError

        cmd = "?"
        try:
            request = Request(decode(line))
            cmd = request.cmd
            handler = self.commands.get(cmd)
            if handler is None:
                raise WireError(f"unknown command {cmd!r} (known: {', '.join(self.commands)})")
            reply = handler(request)
        except (WireError, BootError, XlConfigError, ValueError, MemoryError) as exc:
            log.info("%s: %s", cmd, exc)
            return _error(str(exc) or type(exc).__name__)
        except Exception as exc:
            log.exception("%s failed", cmd)
            return _error(f"internal error in {cmd}: {type(exc).__name__}: {exc}")
        self.idle = False  # it may have made something runnable: look at once
        return {"ok": True, **reply}

    # ------------------------------------------------------------------ commands
    def cmd_status(self, request: Request) -> dict[str, Any]:
        xen = self.host.xen
        return {
            "pid": os.getpid(),
            "uptime_s": round(time.monotonic() - self.started, 3),
            "scheduler": xen.scheduler.name,
            "machine_mib": len(xen.machine.frames.owner) >> 8,
            "free_mib": xen.machine.frames.nr_free >> 8,
            "virtual_time_ns": xen.virtual_time_ns(),
            "running": not self.idle,
            "domains": self.toolstack.rows(),
        }

    def cmd_stop(self, request: Request) -> dict[str, Any]:
        self.stopping = True
        return {"pid": os.getpid()}


def _error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": " ".join(message.split())}  # always one line


def _peer_uid(conn: socket.socket) -> int | None:
    """The connecting process's uid (Linux SO_PEERCRED: struct ucred {pid, uid, gid})."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None  # elsewhere the directory's and the socket's modes are the guard
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def make_scheduler(name: str) -> Any:
    from xenlab.xen.sched_bvt import BVT
    from xenlab.xen.sched_credit import Credit
    from xenlab.xen.schedule import RoundRobin

    makers = {"rr": RoundRobin, "bvt": BVT, "credit": Credit}
    if name not in makers:
        raise MachineError(f"unknown scheduler {name!r} (choose from {', '.join(makers)})")
    return makers[name]()


def listen(path: Path) -> socket.socket:
    """The machine's socket, mode 0600 from the moment it exists (umask while binding)."""
    check_socket_path(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(str(path))
    finally:
        os.umask(old_umask)
    os.chmod(path, 0o600)
    listener.listen(16)
    return listener


def _take_lock(where: Paths) -> int | None:
    """The lock fd, held until exit; None if another daemon holds it.  Retried briefly,
    since a client probing for a dead daemon holds it for an instant."""
    fd = os.open(where.lock, os.O_RDWR | os.O_CREAT, 0o600)
    for _ in range(20):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            time.sleep(0.025)
    os.close(fd)
    return None


def serve(directory: Path, *, machine_mib: int, sched: str) -> int:
    """The daemon's main: take the lock, build the host, serve until told to stop."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s xenlab-machine %(message)s"
    )
    where = Paths(private_dir(directory))
    lock_fd = _take_lock(where)
    if lock_fd is None:
        log.info("another machine holds %s; exiting", where.lock)
        return EXIT_ALREADY_RUNNING
    try:
        if where.socket.exists():  # we hold the lock, so its daemon is gone
            log.info("removed a stale socket %s", where.socket)
            where.socket.unlink()
        from xenlab.toolstack.host import Host

        host = Host(machine_mib, scheduler=make_scheduler(sched))
        listener = listen(where.socket)
        pid_fd = os.open(where.pid, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(pid_fd, f"{os.getpid()}\n".encode())
        os.close(pid_fd)
        machine = Machine(host, listener, owner_uid=os.getuid())
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        machine.wakeup_fd = read_end
        signal.set_wakeup_fd(write_end)

        def on_signal(signum: int, frame: object) -> None:
            machine.stopping = True

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        log.info(
            "pid %d: %d MiB, scheduler %s, on %s", os.getpid(), machine_mib, sched, where.socket
        )
        try:
            machine.serve_forever()
        finally:
            listener.close()
            where.socket.unlink(missing_ok=True)
            where.pid.unlink(missing_ok=True)
        log.info("stopped")
        return 0
    finally:
        os.close(lock_fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xenlab.toolstack.machine")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="run the machine daemon in the foreground")
    run.add_argument("--dir", type=Path, default=None, help="its private directory")
    run.add_argument("--memory", type=int, default=DEFAULT_MACHINE_MIB, metavar="MIB")
    run.add_argument("--sched", choices=SCHEDULERS, default="rr")
    args = parser.parse_args(argv)
    try:
        return serve(args.dir or machine_dir(), machine_mib=args.memory, sched=args.sched)
    except MachineError as exc:
        print(f"xenlab-machine: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
