"""The machine daemon's wire protocol: JSON lines over a private AF_UNIX socket.

A long-running xenlab machine (``toolstack/machine.py``) holds one ``Host``; the ``xl``
commands (``toolstack/xl.py``) talk to it here.  Real Xen's xl talks to the hypervisor
through libxl and privcmd ioctls, and to xenstored through a socket; xenlab's xl is a thin
client instead, since the hypervisor is a Python process of its own.

The protocol is one JSON object per line each way::

    -> {"cmd": "list"}
    <- {"ok": true, "domains": [{"domid": 0, "name": "Domain-0", ...}, ...]}
    -> {"cmd": "pause", "dom": "web"}
    <- {"ok": false, "error": "no domain 'web'"}

A connection may carry many requests; each gets exactly one reply, in order.

Who may connect: only the user who started the machine.  The socket lives in a directory
of mode 0700 that this user owns (:func:`private_dir` refuses any other), the socket file
itself is mode 0600, and the daemon also checks the peer's uid with ``SO_PEERCRED``.  Only
standard-library modules are imported here, so an ``xl`` command starts fast.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

MAX_SOCKET_PATH = 107  # sockaddr_un.sun_path holds 108 bytes with the final NUL
MAX_LINE = 4 << 20  # bytes: a request or reply longer than this is refused, not buffered
SOCKET_NAME = "machine.sock"
LOCK_NAME = "machine.lock"  # held (flock) by the running daemon for its whole life
PID_NAME = "machine.pid"
LOG_NAME = "machine.log"


class WireError(Exception):
    """A malformed line or request; ``str()`` is one line for the user."""


class MachineError(Exception):
    """The machine answered ``{"ok": false}``, or could not be reached; one line."""


class NotRunning(MachineError):
    """Nothing listens on the socket."""


# --- Where the machine lives ------------------------------------------------------------------


def machine_dir() -> Path:
    """``$XENLAB_MACHINE_DIR``, else ``$XDG_RUNTIME_DIR/xenlab``, else ``/tmp/xenlab-UID``."""
    if override := os.environ.get("XENLAB_MACHINE_DIR"):
        return Path(override).expanduser().absolute()  # the daemon runs from /
    if runtime := os.environ.get("XDG_RUNTIME_DIR"):
        return Path(runtime) / "xenlab"
    return Path(f"/tmp/xenlab-{os.getuid()}")


def private_dir(path: Path) -> Path:
    """Create ``path`` with mode 0700, or check that an existing one is a real directory
    (not a symlink) owned by this user and closed to everyone else.  In a shared /tmp,
    another user could have created ``/tmp/xenlab-UID`` first to watch or fake the
    machine: refuse to use it rather than trust it."""
    try:
        path.mkdir(mode=0o700, parents=True)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise MachineError(f"refusing to use {path}: it is not a directory")
    if info.st_uid != os.getuid():
        raise MachineError(f"refusing to use {path}: it belongs to uid {info.st_uid}")
    if info.st_mode & 0o077:
        raise MachineError(
            f"refusing to use {path}: its mode is {stat.S_IMODE(info.st_mode):04o}, "
            "open to other users (it must be 0700)"
        )
    return path


def check_socket_path(path: Path) -> None:
    """A socket path must fit in ``sockaddr_un``; say so plainly when it does not."""
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise MachineError(
            f"{path} is too long for a Unix socket ({MAX_SOCKET_PATH} bytes at most): "
            "set XENLAB_MACHINE_DIR to a shorter directory"
        )


# --- Lines ------------------------------------------------------------------------------------


def encode(message: dict[str, Any]) -> bytes:
    """One message as one line.  ASCII-only JSON, so a console's undecodable bytes (kept
    as surrogates, see :func:`console_text`) travel intact."""
    return json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """One line as a message (a JSON object); :class:`WireError` if it is not one."""
    try:
        message = json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"not a JSON line: {exc}") from None
    if not isinstance(message, dict):
        raise WireError(f"expected a JSON object, got {type(message).__name__}")
    return message


def console_text(data: bytes) -> str:
    """Console bytes as a JSON-safe string: undecodable bytes become surrogates, which
    :func:`console_bytes` turns back into the same bytes."""
    return data.decode("utf-8", errors="surrogateescape")


def console_bytes(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


_REQUIRED: Any = object()  # no default: the argument must be given


class Request:
    """A decoded request with typed access to its arguments; a missing or mistyped
    argument is a :class:`WireError` naming it."""

    def __init__(self, message: dict[str, Any]) -> None:
        cmd = message.get("cmd")
        if not isinstance(cmd, str):
            raise WireError('a request needs "cmd": a string naming the command')
        self.cmd = cmd
        self.message = message

    def _get(self, name: str, kinds: tuple[type, ...], what: str, default: Any) -> Any:
        value = self.message.get(name, default)
        if value is _REQUIRED:
            raise WireError(f"{self.cmd}: missing argument {name!r} ({what})")
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise WireError(f"{self.cmd}: argument {name!r} must be {what}, not {value!r}")
        return value

    def text(self, name: str, default: Any = _REQUIRED) -> str:
        return self._get(name, (str,), "a string", default)

    def integer(self, name: str, default: Any = _REQUIRED) -> int:
        return self._get(name, (int,), "an integer", default)

    def domain(self) -> int | str:
        """The ``dom`` argument: a domain id or a name, as xl takes either."""
        return self._get("dom", (int, str), "a domain id or name", _REQUIRED)

    def strings(self, name: str) -> list[str]:
        value = self._get(name, (list,), "a list of strings", _REQUIRED)
        if not all(isinstance(item, str) for item in value):
            raise WireError(f"{self.cmd}: argument {name!r} must be a list of strings")
        return value

    def mapping(self, name: str) -> dict[str, Any]:
        return self._get(name, (dict,), "an object", _REQUIRED)


# --- The client side --------------------------------------------------------------------------


class Client:
    """One connection to the machine; :meth:`call` sends a request and waits for its reply."""

    def __init__(self, path: Path, *, timeout: float = 120.0) -> None:
        self.path = path
        check_socket_path(path)
        private_dir(path.parent)  # a socket in a directory others can write could be theirs
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)  # a creation may build nothing, but may run a while
        try:
            self.sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            self.sock.close()
            raise NotRunning(f"no machine listens on {path} ({exc.strerror})") from None
        except OSError:
            self.sock.close()
            raise
        self._buffer = b""

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        """The reply to ``{"cmd": cmd, **args}``; :class:`MachineError` if it is an error."""
        reply = self.exchange({"cmd": cmd, **args})
        if not reply.get("ok"):
            raise MachineError(str(reply.get("error", "the machine gave no reason")))
        return reply

    def exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send_raw(encode(message))
        return decode(self.read_line())

    def send_raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise MachineError(f"the machine hung up: {exc}") from None

    def read_line(self) -> bytes:
        while b"\n" not in self._buffer:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise MachineError("the machine did not answer in time") from None
            except OSError as exc:
                raise MachineError(f"the machine hung up: {exc}") from None
            if not chunk:
                raise MachineError("the machine closed the connection without an answer")
            self._buffer += chunk
            if len(self._buffer) > MAX_LINE:
                raise MachineError("the machine's answer is too long")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
