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

The reading is split in three: :mod:`~xenlab.toolstack.xlsyntax` turns the text into
settings, this module checks them into a :class:`DomainConfig`, and
:mod:`~xenlab.toolstack.xldevices` reads the disk and vif specs; the names other modules use
(``Disk``, ``Vif``, ``XlConfigError``, ``default_mac`` ...) can all be imported from here.

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
import re
from dataclasses import dataclass
from pathlib import Path

from xenlab.abi.layout import MAX_GUEST_CMDLINE
from xenlab.build import list_guests
from xenlab.toolstack.xldevices import (
    SECTOR,
    XEN_OUI,
    Disk,
    Vif,
    default_mac,
    read_disks,
    read_vifs,
)
from xenlab.toolstack.xlsyntax import Parser, Setting, Value, XlConfigError

__all__ = [
    "ACTIONS",
    "DEFAULT_MEMORY_MIB",
    "KEYS",
    "MAX_MEMORY_MIB",
    "SECTOR",
    "XEN_OUI",
    "Disk",
    "DomainConfig",
    "SchedParams",
    "Vif",
    "XlConfigError",
    "default_mac",
    "load_config",
    "parse_config",
]

DEFAULT_MEMORY_MIB = 16  # control.DEFAULT_MEMORY_MIB, what `xenlab boot` gives a guest
MAX_MEMORY_MIB = 1024  # the most build_domain will give a domain
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


# --- From settings to a DomainConfig -------------------------------------------------------


class Checker:
    """Turns the settings into typed values; every error names the setting's line."""

    def __init__(self, settings: list[Setting], source: str, base_dir: Path) -> None:
        self.source = source
        self.base_dir = base_dir
        self.settings: dict[str, Setting] = {}
        self.warnings: list[str] = []
        for setting in settings:
            self._admit(setting)

    def _admit(self, setting: Setting) -> None:
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

    def fail(self, setting: Setting | Value, message: str, key: str = "") -> XlConfigError:
        """The error for ``setting`` (or a list item, whose key must be given)."""
        key = key or (setting.key if isinstance(setting, Setting) else "")
        return XlConfigError(message, file=self.source, line=setting.line, key=key or None)

    def where(self, setting: Setting) -> str:
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

    def strings(self, key: str, example: str) -> tuple[Value, ...]:
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


def _kind(value: Value) -> str:
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
    settings = Parser(text, source).settings()
    check = Checker(settings, source, (base_dir or Path.cwd()).resolve())

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
        disks=read_disks(check),
        vifs=read_vifs(check, name),
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


def _kernel(check: Checker) -> tuple[str, bool]:
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


def _cmdline(check: Checker) -> str:
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
