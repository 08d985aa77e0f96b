"""The devices of an xl.cfg file: its ``disk =`` and ``vif =`` specs.

Part of the configuration reader (:mod:`xenlab.toolstack.xlcfg`).  Paper §2.3: domain 0's
management software gives domains virtual block devices (VBDs) and network interfaces (VIFs);
these are the specs that say which.  Disks follow xl-disk-configuration(5): the legacy
positional form ``file:PATH,VDEV,ACCESS`` (or ``PATH,FORMAT,VDEV,ACCESS``) and the key=value
form, in which ``target=`` must come last because it takes the rest of the string, commas
included.  xenlab's extension: ``offset=`` and ``size=`` make the VBD an *extent* of its file
(§3.3.6: a VBD is a list of extents of the real disk).  A vif is ``key=value`` pairs (mac, ip,
bridge), as xl-network-configuration(5) writes them; its default MAC is derived from the
domain's name, so every run is the same.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from xenlab.toolstack.xlsyntax import Value, XlConfigError

if TYPE_CHECKING:
    from xenlab.toolstack.xlcfg import Checker

SECTOR = 512  # a VBD extent is whole sectors, the unit of block I/O
XEN_OUI = (0x00, 0x16, 0x3E)  # Xen's MAC prefix (XenSource's OUI)


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


def read_disks(check: Checker) -> tuple[Disk, ...]:
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


def _disk(check: Checker, item: Value, spec: str) -> Disk:
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


def read_vifs(check: Checker, name: str) -> tuple[Vif, ...]:
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


def _vif(check: Checker, item: Value, spec: str, derived_mac: str) -> Vif:
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
