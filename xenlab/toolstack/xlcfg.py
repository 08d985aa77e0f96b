"""Domain configuration files in xl's syntax, for a coming ``xenlab xl create guest.cfg``.

Paper §2.3: domain 0 runs the management software, and it is that software, through the
control interface, that creates domains, sets their memory and scheduling parameters and
gives them virtual block devices (VBDs) and network interfaces (VIFs).  Xen's toolstack
takes its orders from a configuration file; this module reads one into a
:class:`DomainConfig` — names, sizes and paths, checked and typed — which the toolstack then
hands to the domain builder (``builder.build_domain``) and the scheduler.  Nothing is built
here and no hypervisor is needed: a student's mistakes are reported before anything runs.

The syntax is xl.cfg(5)'s, read by a small tokenizer (never ``eval``) that knows lines and
columns, so every error names the file, the line, the column where it helps, and the key::

    # a comment, to the end of the line
    name = "web"                  # strings: "..." or '...', C escapes (\\n \\" \\x41)
    memory = 32; maxmem = 64      # integers: decimal or 0x hex; ';' may end a setting
    disk = [ 'file:web.img,xvda,w',
             'format=raw, vdev=xvdb, access=ro, target=data.img',  # lists may span lines
           ]                                                       # and end with a comma

Disks follow xl-disk-configuration(5): the legacy positional form ``file:PATH,VDEV,ACCESS``
(or ``PATH,FORMAT,VDEV,ACCESS``) and the key=value form, in which ``target=`` must come last
because it takes the rest of the string, commas included.  Relative paths (kernel, disk
targets) are relative to the configuration file's folder.

xenlab's extension: a disk's ``offset=`` and ``size=`` (bytes, or with a K, M or G suffix;
multiples of the 512-byte sector) make the VBD an *extent* of its file, so one file can hold
several VBDs — the paper's VBDs are lists of extents of the real disk (§3.3.6).

Not supported, and refused with a message that says so: more than one vCPU (``vcpus``,
``maxvcpus``, ``cpus``); HVM and PVH guests (``type`` other than "pv", ``builder``);
ramdisks and bootloaders; ``+=`` settings; physical disks (``phy:``), formats other than
raw, CD-ROMs, disk options other than target, format, vdev, access; vif options other than
mac, ip, bridge; devices other than disks and vifs (pci, vfb, serial, ...); other on_*
events and actions (``rename-restart``, ``coredump-*``, ``soft-reset``); octal numbers;
nested lists.  Accepted without effect, with a warning in :attr:`DomainConfig.warnings`:
``cap`` (xenlab's credit scheduler has no caps yet), and ``root``/``extra`` next to
``cmdline`` (xl ignores them too).  Where xl is lax xenlab is strict: xl reads
``memory = "64"`` as a number and keeps the last of two settings of a key; xenlab asks for
``memory = 64`` and reports both lines.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xenlab.abi.layout import MAX_GUEST_CMDLINE
from xenlab.build import list_guests

DEFAULT_MEMORY_MIB = 16  # control.DEFAULT_MEMORY_MIB, what `xenlab boot` gives a guest
MAX_MEMORY_MIB = 1024  # the most build_domain will give a domain
SECTOR = 512  # a VBD extent is whole sectors, the unit of block I/O
XEN_OUI = (0x00, 0x16, 0x3E)  # Xen's MAC prefix (XenSource's OUI)
ACTIONS = ("destroy", "restart", "preserve")

#: The keys xenlab understands, and what each means.
KEYS: dict[str, str] = {
    "name": "the domain's name (required): letters, digits, '_', '.', '-'",
    "type": 'the kind of guest: only "pv" (paravirtualized)',
    "kernel": "the guest kernel: an ELF path (relative to the file) or a built-in guest",
    "memory": f"initial memory in MiB (default {DEFAULT_MEMORY_MIB})",
    "maxmem": "the most memory in MiB the domain may balloon up to (default: memory)",
    "vcpus": "number of virtual CPUs: xenlab emulates one CPU, so 1",
    "cmdline": "the guest's command line (start_info.cmd_line)",
    "extra": "the command line, if cmdline is not given (xl's older name)",
    "root": "'root=VALUE' put before extra, if cmdline is not given (as xl does)",
    "on_poweroff": "what to do when the guest powers off: destroy (default), restart, preserve",
    "on_reboot": "what to do when the guest reboots: restart (default), destroy, preserve",
    "on_crash": "what to do when the guest crashes: destroy (default), restart, preserve",
    "disk": "list of VBDs, xl-disk-configuration syntax (+ xenlab's offset=, size=)",
    "vif": "list of VIFs: 'mac=00:16:3e:..., ip=10.0.0.2, bridge=xenbr0'",
    "cpu_weight": "credit scheduler weight, 1..65535 (default 256)",
    "weight": "the same as cpu_weight",
    "cap": "credit scheduler cap, percent of the CPU, 0 (no cap)..100",
    "mcu_advance": "BVT: virtual time charged per MCU run, the inverse of the weight (>= 1)",
    "warp": "BVT: how far back in virtual time the domain warps when it wakes (>= 0)",
    "warpl": "BVT: the longest it may stay warped, in ns (0: no limit)",
    "warpu": "BVT: how long it must run unwarped before it may warp again, in ns",
}
_ALIASES = {"weight": "cpu_weight"}  # one setting under two names: giving both is a duplicate

# xl keys a student may copy from a real config: say why xenlab does without them.
_SEDF = "that is the SEDF scheduler's; xenlab's are BVT, credit and round-robin"
_UNSUPPORTED: dict[str, str] = {
    **dict.fromkeys(("maxvcpus", "cpus", "cpus_soft", "pool"), "xenlab emulates one CPU"),
    **dict.fromkeys(
        ("pci", "vfb", "vkb", "vtpm", "serial", "channel", "usbctrl", "usbdev"),
        "xenlab has no such devices (only disk and vif)",
    ),
    **dict.fromkeys(("period", "slice", "latency", "extratime"), _SEDF),
    **dict.fromkeys(("on_watchdog", "on_soft_reset"), "only on_poweroff, on_reboot, on_crash"),
    **dict.fromkeys(("bootloader", "bootloader_args"), "xenlab loads the kernel itself"),
    "builder": 'xenlab builds paravirtualized guests only (type = "pv")',
    "ramdisk": "xenlab boots a kernel without an initial ramdisk",
    "uuid": "xenlab names domains by name and domid",
}


class XlConfigError(ValueError):
    """A configuration file xenlab cannot use; ``str()`` is one line for the user:
    ``guest.cfg:7: memory: expected an integer number of MiB, ...``."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message, self.file, self.key = message, file, key
        self.line, self.column = line, column
        where = file + "".join(f":{n}" for n in (line, column) if n is not None)
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")


@dataclass(frozen=True)
class Disk:
    """One VBD: the ``size`` bytes of ``target`` from ``offset`` (None: to the end of the
    file), seen by the guest as ``vdev``."""

    target: Path
    vdev: str
    readonly: bool
    offset: int = 0
    size: int | None = None


@dataclass(frozen=True)
class Vif:
    """One virtual network interface; ``ip`` None means none was configured."""

    mac: str
    ip: str | None
    bridge: str = "xenbr0"


@dataclass(frozen=True)
class SchedParams:
    """Scheduling settings; None means the scheduler's default.  ``cpu_weight`` and ``cap``
    are the credit scheduler's, the rest BVT's, under the names ``sched_bvt`` uses."""

    cpu_weight: int | None = None
    cap: int | None = None
    mcu_advance: int | None = None
    warp: int | None = None
    warpl: int | None = None
    warpu: int | None = None

    def bvt_params(self) -> dict[str, int]:
        """The BVT settings given, ready for ``BVT.set_params(domain, **params)``."""
        bvt = {
            "mcu_advance": self.mcu_advance,
            "warp": self.warp,
            "warpl": self.warpl,
            "warpu": self.warpu,
        }
        return {name: value for name, value in bvt.items() if value is not None}


@dataclass(frozen=True)
class DomainConfig:
    """A domain as a configuration file describes it.  ``kernel`` is an absolute path when
    ``kernel_is_path`` (an ELF, or a guest source folder), else a built-in guest's name.
    ``warnings`` are lines for the user about settings accepted but without effect."""

    name: str
    memory_mib: int
    maxmem_mib: int
    kernel: str
    kernel_is_path: bool
    cmdline: str
    vcpus: int
    on_poweroff: str
    on_reboot: str
    on_crash: str
    disks: tuple[Disk, ...]
    vifs: tuple[Vif, ...]
    sched: SchedParams
    source: str
    warnings: tuple[str, ...] = ()


# --- Reading the file: tokens, then settings ---------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "ident", "number", "string", "newline", "eof", or the symbol: = [ ] , ; +=
    text: str  # the source text (a string's value, unquoted)
    line: int
    column: int


@dataclass(frozen=True)
class _Value:
    kind: str  # "string", "int" or "list"
    data: str | int | tuple[_Value, ...]
    line: int
    column: int


@dataclass(frozen=True)
class _Setting:
    key: str
    value: _Value
    line: int


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9][0-9A-Za-z_.]*")  # greedy, so '64M' is one (bad) number
_NUMERIC_ESCAPE = re.compile(r"x([0-9A-Fa-f]{2})|([0-7]{1,3})")  # \x41, \101


def _tokenize(text: str, source: str) -> list[_Token]:
    tokens: list[_Token] = []
    line, line_start, i = 1, 0, 0
    while i < len(text):
        c, column = text[i], i - line_start + 1
        if c in " \t\r\f":
            i += 1
        elif c == "#":  # a comment runs to the end of the line (not past it)
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif c == "\n":
            tokens.append(_Token("newline", "\n", line, column))
            i, line, line_start = i + 1, line + 1, i + 1
        elif c in "\"'":
            value, i = _read_string(text, i, line, column, source)
            tokens.append(_Token("string", value, line, column))
        elif match := _NUMBER.match(text, i):
            tokens.append(_Token("number", match.group(), line, column))
            i = match.end()
        elif match := _WORD.match(text, i):
            tokens.append(_Token("ident", match.group(), line, column))
            i = match.end()
        elif text.startswith("+=", i):
            tokens.append(_Token("+=", "+=", line, column))
            i += 2
        elif c in "=[],;":
            tokens.append(_Token(c, c, line, column))
            i += 1
        else:
            hint = (
                " (xl.cfg is not Python: lists are [ ], and there are no tuples)"
                if c in "()"
                else ""
            )
            raise XlConfigError(
                f"syntax error: unexpected character {c!r}{hint}",
                file=source,
                line=line,
                column=column,
            )
    tokens.append(_Token("eof", "", line, i - line_start + 1))
    return tokens


def _read_string(text: str, start: int, line: int, column: int, source: str) -> tuple[str, int]:
    """The string opened by the quote at ``start`` (xl's escapes), and where it ends."""
    quote, out, i = text[start], [], start + 1
    while i < len(text) and text[i] != "\n":
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\" and i + 1 < len(text) and text[i + 1] != "\n":
            nc = text[i + 1]
            if nc in "\"'\\":
                out.append(nc)
                i += 2
            elif nc in _ESCAPES:
                out.append(_ESCAPES[nc])
                i += 2
            elif m := _NUMERIC_ESCAPE.match(text, i + 1):
                out.append(chr(int(m.group(1), 16) if m.group(1) else int(m.group(2), 8)))
                i = m.end()
            else:
                raise XlConfigError(
                    f"syntax error: unknown escape '\\{nc}' in a string (to write a backslash,"
                    " double it: '\\\\')",
                    file=source,
                    line=line,
                    column=i - start + column,
                )
        else:
            out.append(c)
            i += 1
    raise XlConfigError(
        f"syntax error: unterminated string: the {quote} opened here is not closed on this line",
        file=source,
        line=line,
        column=column,
    )


def _describe(token: _Token) -> str:
    return {
        "newline": "the end of the line",
        "eof": "the end of the file",
        "string": f"the string {token.text!r}",
        "number": f"{token.text!r}",
        "ident": f"the word {token.text!r}",
    }.get(token.kind, f"'{token.text}'")


class _Parser:
    """``file := { [KEY = VALUE] (newline | ';') }``, a value being a string, a number or
    a list of them in [ ] (newlines allowed inside, trailing comma allowed)."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(text, source)
        self.at = 0

    def error(self, message: str, token: _Token, key: str | None = None) -> XlConfigError:
        return XlConfigError(
            f"syntax error: {message}",
            file=self.source,
            line=token.line,
            column=token.column,
            key=key,
        )

    def next(self) -> _Token:
        token = self.tokens[self.at]
        self.at += token.kind != "eof"
        return token

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def settings(self) -> list[_Setting]:
        found: list[_Setting] = []
        while (token := self.next()).kind != "eof":
            if token.kind in ("newline", ";"):
                continue  # blank lines, comment lines, stray ';'
            if token.kind != "ident":
                raise self.error(
                    f"expected a setting 'KEY = VALUE', found {_describe(token)}", token
                )
            key = token.text
            equals = self.next()
            if equals.kind == "+=":
                raise self.error("'+=' is not supported: give the whole value at once", equals, key)
            if equals.kind != "=":
                raise self.error(
                    f"expected '=' after {key!r}, found {_describe(equals)}", equals, key
                )
            value = self.value(key)
            end = self.next()
            if end.kind not in ("newline", ";", "eof"):
                raise self.error(
                    f"expected the end of the line or ';' after the value, found {_describe(end)}",
                    end,
                    key,
                )
            found.append(_Setting(key, value, token.line))
        return found

    def value(self, key: str) -> _Value:
        token = self.next()
        if token.kind == "[":
            items: list[_Value] = []
            while True:
                self.skip_newlines(token, key)
                if self.peek().kind == "]":
                    self.next()
                    return _Value("list", tuple(items), token.line, token.column)
                items.append(self.scalar(key, in_list=True))
                self.skip_newlines(token, key)
                after = self.next()
                if after.kind == "]":
                    return _Value("list", tuple(items), token.line, token.column)
                if after.kind != ",":
                    raise self.error(
                        f"expected ',' or ']' in the list opened on line {token.line}, found "
                        f"{_describe(after)}",
                        after,
                        key,
                    )
        self.at -= token.kind != "eof"
        return self.scalar(key, in_list=False)

    def scalar(self, key: str, *, in_list: bool) -> _Value:
        token = self.next()
        if token.kind == "string":
            return _Value("string", token.text, token.line, token.column)
        if token.kind == "number":
            return _Value("int", self.number(token, key), token.line, token.column)
        what = "a list item (a string or a number)" if in_list else "a value"
        hint = " (lists cannot be nested)" if token.kind == "[" else ""
        raise self.error(f"expected {what}, found {_describe(token)}{hint}", token, key)

    def number(self, token: _Token, key: str) -> int:
        text = token.text
        if re.fullmatch(r"0[xX][0-9A-Fa-f]+", text):
            return int(text, 16)
        if re.fullmatch(r"0|[1-9][0-9]*", text):
            return int(text)
        if re.fullmatch(r"0[0-9]+", text):
            raise self.error(
                f"{text!r}: xl would read a leading 0 as octal; write it in decimal or 0x hex",
                token,
                key,
            )
        raise self.error(
            f"{text!r} is not a number: xl takes plain integers (decimal or 0x hex), "
            "without units or a decimal point",
            token,
            key,
        )

    def skip_newlines(self, opening: _Token, key: str) -> None:
        """Inside a list, newlines are just spaces; the end of the file is an error."""
        while self.peek().kind == "newline":
            self.next()
        if self.peek().kind == "eof":
            raise self.error("unterminated list: the [ opened here has no ]", opening, key)


# --- From settings to a DomainConfig -------------------------------------------------------


class _Checker:
    """Turns the settings into typed values; every error names the setting's line."""

    def __init__(self, settings: list[_Setting], source: str, base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir
        self.settings: dict[str, _Setting] = {}
        self.warnings: list[str] = []
        for setting in settings:
            self._admit(setting)

    def _admit(self, setting: _Setting) -> None:
        key = setting.key
        if key in _UNSUPPORTED:
            raise self.fail(setting, f"not supported by xenlab: {_UNSUPPORTED[key]}")
        if key not in KEYS:
            close = difflib.get_close_matches(key.lower(), KEYS, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known keys: {', '.join(KEYS)})"
            raise self.fail(setting, f"unknown key{hint}")
        canonical = _ALIASES.get(key, key)
        if (first := self.settings.get(canonical)) is not None:
            also = "" if first.key == key else f" (as {first.key!r})"
            raise self.fail(setting, f"set twice: first on line {first.line}{also}, again here")
        self.settings[canonical] = setting

    def fail(self, setting: _Setting | _Value, message: str, key: str = "") -> XlConfigError:
        """The error for ``setting`` (or a list item, whose key must be given)."""
        key = key or (setting.key if isinstance(setting, _Setting) else "")
        return XlConfigError(message, file=self.source, line=setting.line, key=key or None)

    def where(self, setting: _Setting) -> str:
        return f"{self.source}:{setting.line}: {setting.key}"

    def integer(self, key: str, what: str, low: int, high: int | None = None) -> int | None:
        """The integer value of ``key`` (None if not set), in low..high."""
        setting = self.settings.get(key)
        if setting is None:
            return None
        value = setting.value
        if value.kind != "int":
            digits = re.match(r"\s*(\d+)", str(value.data)) if value.kind == "string" else None
            example = f": {setting.key} = {digits.group(1)}" if digits else ""
            raise self.fail(
                setting,
                f"expected an integer {what}, got {_kind(value)}; xl takes plain integers, "
                f"without quotes or units{example}",
            )
        assert isinstance(value.data, int)
        if value.data < low or (high is not None and value.data > high):
            bounds = f"{low}..{high}" if high is not None else f"at least {low}"
            raise self.fail(setting, f"must be {bounds}, not {value.data}")
        return value.data

    def string(self, key: str, what: str) -> str | None:
        setting = self.settings.get(key)
        if setting is None:
            return None
        if setting.value.kind != "string":
            raise self.fail(setting, f"expected {what} in quotes, got {_kind(setting.value)}")
        assert isinstance(setting.value.data, str)
        return setting.value.data

    def strings(self, key: str, example: str) -> tuple[_Value, ...]:
        """The items of a list-of-strings setting (empty if not set)."""
        setting = self.settings.get(key)
        if setting is None:
            return ()
        if setting.value.kind != "list":
            raise self.fail(
                setting,
                f"expected a list of strings like [{example!r}], got {_kind(setting.value)}",
            )
        assert isinstance(setting.value.data, tuple)
        for item in setting.value.data:
            if item.kind != "string":
                raise self.fail(item, f"expected a string like {example!r}, got {_kind(item)}", key)
        return setting.value.data

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(key, f"one of {', '.join(choices)}")
        if value is None:
            return default
        if value not in choices:
            raise self.fail(
                self.settings[key], f"expected one of {', '.join(choices)}, not {value!r}"
            )
        return value

    def path(self, text: str) -> Path:
        """A path from the file, relative to the file's folder."""
        path = Path(text).expanduser()
        return (path if path.is_absolute() else self.base_dir / path).resolve()


def _kind(value: _Value) -> str:
    if value.kind == "string":
        return f"the string {value.data!r}"
    if value.kind == "int":
        return f"the number {value.data}"
    return "a list"


def parse_config(
    text: str, *, source: str = "<string>", base_dir: Path | None = None
) -> DomainConfig:
    """Read a configuration from ``text``; ``source`` names it in errors; relative paths
    are relative to ``base_dir`` (default: the current directory, as for xl itself)."""
    settings = _Parser(text, source).settings()
    check = _Checker(settings, source, (base_dir or Path.cwd()).resolve())

    name = check.string("name", "the domain's name")
    if name is None:
        raise XlConfigError(
            'required: every domain needs a name (name = "...")', file=source, key="name"
        )
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise check.fail(
            check.settings["name"], f"{name!r}: use only letters, digits, '_', '.', '-'"
        )
    domain_type = check.string("type", 'the guest type "pv"')
    if domain_type not in (None, "pv"):
        raise check.fail(
            check.settings["type"],
            f'{domain_type!r}: xenlab runs paravirtualized guests only ("pv")',
        )

    memory = check.integer("memory", "number of MiB", 1, MAX_MEMORY_MIB)
    memory = DEFAULT_MEMORY_MIB if memory is None else memory
    maxmem = check.integer("maxmem", "number of MiB", 1, MAX_MEMORY_MIB)
    if maxmem is not None and maxmem < memory:
        given = check.settings.get("memory")
        origin = f"line {given.line}" if given else "the default"
        raise check.fail(
            check.settings["maxmem"],
            f"{maxmem} MiB is less than memory ({memory} MiB, {origin}): maxmem is the most "
            "the domain may balloon up to, at least its initial memory",
        )
    vcpus = check.integer("vcpus", "number of vCPUs", 1)
    if vcpus not in (None, 1):
        raise check.fail(
            check.settings["vcpus"],
            f"xenlab emulates one CPU, so a domain has one vCPU (vcpus = 1), not {vcpus}",
        )

    kernel, kernel_is_path = _kernel(check)
    cmdline = _cmdline(check)
    sched = SchedParams(
        cpu_weight=check.integer("cpu_weight", "weight", 1, 65535),
        cap=check.integer("cap", "percentage", 0, 100),
        mcu_advance=check.integer("mcu_advance", "amount of virtual time per MCU", 1),
        warp=check.integer("warp", "amount of virtual time", 0),
        warpl=check.integer("warpl", "number of ns", 0),
        warpu=check.integer("warpu", "number of ns", 0),
    )
    if sched.cap:
        check.warnings.append(
            f"{check.where(check.settings['cap'])}: recorded, but xenlab's credit scheduler "
            "does not enforce caps yet"
        )
    return DomainConfig(
        name=name,
        memory_mib=memory,
        maxmem_mib=maxmem if maxmem is not None else memory,
        kernel=kernel,
        kernel_is_path=kernel_is_path,
        cmdline=cmdline,
        vcpus=1,
        on_poweroff=check.choice("on_poweroff", ACTIONS, "destroy"),
        on_reboot=check.choice("on_reboot", ACTIONS, "restart"),
        on_crash=check.choice("on_crash", ACTIONS, "destroy"),
        disks=_disks(check),
        vifs=_vifs(check, name),
        sched=sched,
        source=source,
        warnings=tuple(check.warnings),
    )


def load_config(path: str | Path) -> DomainConfig:
    """Read the configuration file at ``path``; relative paths in it are relative to its
    folder.  An unreadable file is an :class:`XlConfigError` too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise XlConfigError("not a text file (UTF-8)", file=str(path)) from None
    except OSError as exc:
        raise XlConfigError(f"cannot read it: {exc.strerror or exc}", file=str(path)) from None
    return parse_config(text, source=str(path), base_dir=path.resolve().parent)


def _kernel(check: _Checker) -> tuple[str, bool]:
    """The kernel: a built-in guest's name, or a path (to an ELF or a guest folder)."""
    kernel = check.string("kernel", "a path to the kernel or a built-in guest's name")
    if kernel is None:
        raise XlConfigError(
            'required: the guest kernel (kernel = "hello" or kernel = "path/to/kernel.elf")',
            file=check.source,
            key="kernel",
        )
    setting = check.settings["kernel"]
    if not kernel:
        raise check.fail(setting, "is empty")
    builtin = [guest.name for guest in list_guests()]
    # A name wins over a same-named file, as in build_guest; a '/' or a suffix ('.elf')
    # says "path" even if the file is not there yet (the builder will say so).
    if "/" not in kernel and "\\" not in kernel and kernel in builtin:
        return kernel, False
    if "/" in kernel or "\\" in kernel or Path(kernel).suffix or check.path(kernel).exists():
        return str(check.path(kernel)), True
    close = difflib.get_close_matches(kernel, builtin, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f" ({', '.join(builtin) or 'none'})"
    raise check.fail(
        setting, f"{kernel!r} is neither a file in {check.base_dir} nor a built-in guest{hint}"
    )


def _cmdline(check: _Checker) -> str:
    """xl's rule: cmdline if given (root and extra ignored, with a warning), else
    'root=ROOT EXTRA' from whichever of the two are given."""
    cmdline = check.string("cmdline", "the command line")
    root = check.string("root", "the root device")
    extra = check.string("extra", "the command line")
    if cmdline is not None:
        for ignored in ("root", "extra"):
            if ignored in check.settings:
                check.warnings.append(
                    f"{check.where(check.settings[ignored])}: ignored in favour of cmdline "
                    f"(line {check.settings['cmdline'].line}), as xl does"
                )
    else:
        parts = ([f"root={root}"] if root is not None else []) + ([extra] if extra else [])
        cmdline = " ".join(parts)
    if len(cmdline.encode("utf-8")) >= MAX_GUEST_CMDLINE:
        key = "cmdline" if "cmdline" in check.settings else ("extra" if extra else "root")
        raise check.fail(
            check.settings[key],
            f"the command line is {len(cmdline.encode())} bytes; at most {MAX_GUEST_CMDLINE - 1}",
        )
    return cmdline


# --- Disks (xl-disk-configuration) ---------------------------------------------------------

_VDEV = re.compile(r"(xvd|hd|sd)[a-z]+[0-9]*")
_DISK_KEYS = ("target", "format", "vdev", "access", "offset", "size")
_DISK_UNSUPPORTED = (
    "backend",
    "backendtype",
    "script",
    "devtype",
    "direct-io-safe",
    "discard",
    "no-discard",
    "trusted",
    "untrusted",
    "cdrom",
)
_ACCESS = {"r": True, "ro": True, "w": False, "rw": False}  # -> read-only?
_Complaint = Callable[[str], XlConfigError]  # makes the error for one spec, from a message


def _disks(check: _Checker) -> tuple[Disk, ...]:
    disks: list[Disk] = []
    vdev_line: dict[str, int] = {}
    for item in check.strings("disk", "file:/path/to/disk.img,xvda,w"):
        assert isinstance(item.data, str)
        disk = _disk(check, item, item.data)
        if disk.vdev in vdev_line:
            raise check.fail(
                item,
                f"{item.data!r}: vdev {disk.vdev} is already used (line {vdev_line[disk.vdev]})",
                "disk",
            )
        vdev_line[disk.vdev] = item.line
        disks.append(disk)
    return tuple(disks)


def _disk(check: _Checker, item: _Value, spec: str) -> Disk:
    """One disk spec: positional fields and key=value pairs, in xl's order of precedence."""

    def bad(message: str) -> XlConfigError:
        return check.fail(item, f"{spec!r}: {message}", "disk")

    fields: dict[str, str] = {}
    legacy_prefix = False  # 'file:PATH' fills target and skips the positional format
    rest = spec
    while rest.strip():
        rest = rest.lstrip()
        if rest.startswith("target="):  # takes the rest, commas and all
            if "target" in fields:
                raise bad("two targets: a positional one and target=")
            fields["target"] = rest[len("target=") :].strip()
            break
        piece, _, rest = rest.partition(",")
        piece = piece.strip()
        name, is_pair, value = (part.strip() for part in piece.partition("="))
        if name in _DISK_UNSUPPORTED:
            raise bad(f"{name!r} is not supported by xenlab")
        if is_pair:
            if name not in _DISK_KEYS:
                close = difflib.get_close_matches(name, _DISK_KEYS, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise bad(f"unknown disk parameter {name!r}{hint}")
            if name in fields:
                raise bad(f"{name} is given twice")
            fields[name] = value
            continue
        if not piece:
            raise bad("an empty field (two commas in a row?)")
        if "target" not in fields:
            fields["target"], legacy_prefix = _strip_prefix(piece, bad)
        elif not legacy_prefix and "format" not in fields:
            fields["format"] = piece
        elif "vdev" not in fields:
            fields["vdev"] = piece
        elif "access" not in fields:
            fields["access"] = piece
        else:
            raise bad(f"too many positional fields at {piece!r} (TARGET,FORMAT,VDEV,ACCESS)")

    if not fields.get("target"):
        raise bad("no target: give the image file (file:PATH,... or target=PATH)")
    disk_format = fields.get("format", "raw")
    if disk_format != "raw":
        hint = ""
        if _VDEV.fullmatch(disk_format):  # '/img,xvda,w': the positional form has a format
            hint = (
                f" ({disk_format!r} is in the format's place: write 'file:PATH,VDEV,ACCESS' or "
                "'PATH,raw,VDEV,ACCESS')"
            )
        raise bad(f"format {disk_format!r} is not supported: xenlab reads raw images{hint}")
    vdev = fields.get("vdev")
    if not vdev:
        raise bad("no vdev: name the guest's device, e.g. xvda")
    if vdev.endswith(":cdrom"):
        raise bad("CD-ROMs are not supported by xenlab")
    if not _VDEV.fullmatch(vdev.removesuffix(":disk")):
        raise bad(f"vdev {vdev!r} is not a virtual disk name like xvda, xvdb, ...")
    access = fields.get("access", "rw")
    if access not in _ACCESS:
        raise bad(f"access {access!r}: expected r, ro, w or rw")
    offset = _bytes(fields.get("offset", "0"), "offset", bad)
    size = _bytes(fields["size"], "size", bad) if "size" in fields else None
    if size == 0:
        raise bad("size=0: a VBD needs at least one sector (leave size out for 'to the end')")
    return Disk(
        target=check.path(fields["target"]),
        vdev=vdev.removesuffix(":disk"),
        readonly=_ACCESS[access],
        offset=offset,
        size=size,
    )


def _strip_prefix(piece: str, bad: _Complaint) -> tuple[str, bool]:
    """xl's legacy 'file:PATH'; 'phy:' and the other backends xenlab does not have."""
    match = re.match(r"([a-z][a-z0-9]*):(.*)", piece)
    if match is None or len(match.group(1)) == 1:  # 'C:\...' is a path, not a prefix
        return piece, False
    prefix, path = match.groups()
    if prefix == "file":
        return path, True
    if prefix == "phy":
        raise bad(
            "phy: physical devices are not supported: xenlab's disks are image files (file:PATH)"
        )
    raise bad(
        f"the {prefix}: prefix is not supported: xenlab's disks are raw image files (file:PATH)"
    )


def _bytes(text: str, what: str, bad: _Complaint) -> int:
    """A byte count: decimal or 0x hex, optionally with K, M or G (powers of 1024)."""
    match = re.fullmatch(r"(0[xX][0-9A-Fa-f]+|[0-9]+)([KMGkmg]?)", text)
    if match is None:
        raise bad(f"{what}={text!r}: expected a number of bytes, optionally with K, M or G")
    value = int(match.group(1), 0) << {"": 0, "k": 10, "m": 20, "g": 30}[match.group(2).lower()]
    if value % SECTOR:
        raise bad(f"{what}={text} is not a multiple of the {SECTOR}-byte sector")
    return value


# --- Network interfaces ---------------------------------------------------------------------

_VIF_KEYS = ("mac", "ip", "bridge")
_VIF_UNSUPPORTED = ("type", "model", "vifname", "script", "backend", "rate", "gatewaydev", "mtu")
_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}")


def default_mac(domain: str, index: int) -> str:
    """A MAC in Xen's range for the domain's ``index``-th vif, the same on every run.

    libxl picks 00:16:3e plus three random bytes, the first below 0x80; xenlab takes the
    bytes from a hash of the name and index instead, so every run (and every figure) is the
    same."""
    digest = hashlib.sha256(f"{domain}/vif{index}".encode()).digest()
    octets = (*XEN_OUI, digest[0] & 0x7F, digest[1], digest[2])
    return ":".join(f"{octet:02x}" for octet in octets)


def _vifs(check: _Checker, name: str) -> tuple[Vif, ...]:
    vifs: list[Vif] = []
    mac_line: dict[str, int] = {}
    for index, item in enumerate(check.strings("vif", "mac=00:16:3e:00:00:01, bridge=xenbr0")):
        assert isinstance(item.data, str)
        vif = _vif(check, item, item.data, default_mac(name, index))
        if vif.mac in mac_line:
            raise check.fail(
                item,
                f"{item.data!r}: MAC {vif.mac} is already used (line {mac_line[vif.mac]})",
                "vif",
            )
        mac_line[vif.mac] = item.line
        vifs.append(vif)
    return tuple(vifs)


def _vif(check: _Checker, item: _Value, spec: str, derived_mac: str) -> Vif:
    def bad(message: str) -> XlConfigError:
        return check.fail(item, f"{spec!r}: {message}", "vif")

    fields: dict[str, str] = {}
    for piece in spec.split(","):
        if not piece.strip():
            continue  # '' is a vif with every default, as in xl
        name, is_pair, value = (part.strip() for part in piece.partition("="))
        if not is_pair:
            raise bad(f"expected key=value, got {piece.strip()!r}")
        if name in _VIF_UNSUPPORTED:
            raise bad(f"{name!r} is not supported by xenlab")
        if name not in _VIF_KEYS:
            close = difflib.get_close_matches(name, _VIF_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else " (mac, ip, bridge)"
            raise bad(f"unknown vif parameter {name!r}{hint}")
        if name in fields:
            raise bad(f"{name} is given twice")
        fields[name] = value

    mac = fields.get("mac", derived_mac).lower()
    if not _MAC.fullmatch(mac):
        raise bad(f"mac {mac!r} is not a MAC address like 00:16:3e:12:34:56")
    if int(mac[:2], 16) & 1:
        raise bad(f"mac {mac} is a multicast address: a vif needs a unicast one (even first byte)")
    ip = fields.get("ip")
    if ip is not None:
        try:
            ip = str(ipaddress.IPv4Address(ip))
        except ValueError:
            raise bad(f"ip {ip!r} is not an IPv4 address like 10.0.0.2") from None
    bridge = fields.get("bridge", "xenbr0")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,15}", bridge):  # a Linux interface name
        raise bad(f"bridge {bridge!r} is not an interface name like xenbr0")
    return Vif(mac=mac, ip=ip, bridge=bridge)
