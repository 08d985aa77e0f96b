"""Reading a guest kernel image: ELF32 program headers and Xen's ELF notes (libelf).

The notes (``elfnote.h``, name "Xen") tell the builder where the kernel wants to live
(VIRT_BASE), where to start it (ENTRY), which page to fill with hypercall stubs
(HYPERCALL_PAGE), and that it speaks the PAE page-table format (PAE_MODE "yes").
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from xenlab.abi import layout

_STRING_NOTES = {
    layout.XEN_ELFNOTE_XEN_VERSION: "xen_version",
    layout.XEN_ELFNOTE_GUEST_OS: "guest_os",
    layout.XEN_ELFNOTE_GUEST_VERSION: "guest_version",
    layout.XEN_ELFNOTE_LOADER: "loader",
    layout.XEN_ELFNOTE_PAE_MODE: "pae_mode",
    layout.XEN_ELFNOTE_FEATURES: "features",
}
_NUMERIC_NOTES = {
    layout.XEN_ELFNOTE_ENTRY: "entry",
    layout.XEN_ELFNOTE_HYPERCALL_PAGE: "hypercall_page",
    layout.XEN_ELFNOTE_VIRT_BASE: "virt_base",
    layout.XEN_ELFNOTE_PADDR_OFFSET: "paddr_offset",
}
MAX_IMAGE_BYTES = 64 << 20
# XENFEAT names a kernel may require ("!name" in its FEATURES note) and still boot here:
# only what xen_version(XENVER_get_features) reports (xenlab.xen.version).
SUPPORTED_FEATURES = frozenset({"pae_pgdir_above_4gb"})


def required_features(features: str) -> set[str]:
    """The '!'-prefixed entries of a FEATURES note ("a|!b|c" requires b)."""
    return {f[1:] for f in features.split("|") if f.startswith("!")}


class ImageError(ValueError):
    """The file is not a kernel xenlab can boot; the message says why."""


@dataclass(frozen=True)
class Segment:
    vaddr: int
    data: bytes  # file contents; the rest up to memsz is zero (.bss)
    memsz: int


@dataclass
class KernelImage:
    path: str
    entry: int
    virt_base: int
    hypercall_page: int | None
    segments: list[Segment]
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def start(self) -> int:
        return min(s.vaddr for s in self.segments)

    @property
    def end(self) -> int:
        return max(s.vaddr + s.memsz for s in self.segments)


def load_kernel_image(path: str | Path) -> KernelImage:
    """Parse and check a Xen PV kernel image; raise :class:`ImageError` with the reason."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ImageError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(blob) > MAX_IMAGE_BYTES:
        raise ImageError(f"{path}: {len(blob)} bytes is larger than any xenlab kernel")
    try:
        elf = ELFFile(io.BytesIO(blob))
        if elf.elfclass != 32 or elf["e_machine"] != "EM_386":
            raise ImageError(f"{path}: not an x86-32 ELF ({elf.elfclass}-bit {elf['e_machine']})")
        if elf["e_type"] != "ET_EXEC":
            raise ImageError(f"{path}: not an executable (e_type {elf['e_type']})")
        notes = _xen_notes(elf)
        segments = [
            Segment(seg["p_vaddr"], seg.data(), seg["p_memsz"])
            for seg in elf.iter_segments()
            if seg["p_type"] == "PT_LOAD" and seg["p_memsz"] > 0
        ]
        e_entry = elf["e_entry"]
    except ELFError as exc:
        raise ImageError(f"{path}: malformed ELF: {exc}") from exc
    except ImageError:
        raise
    except Exception as exc:
        raise ImageError(f"{path}: malformed ELF: {type(exc).__name__}: {exc}") from exc
    if not notes:
        raise ImageError(f"{path}: no Xen ELF notes: not a Xen PV kernel")
    if str(notes.get("pae_mode", "")).split("[")[0] not in ("yes", "bimodal"):
        raise ImageError(
            f"{path}: PAE_MODE note is {notes.get('pae_mode')!r}; xenlab runs PAE guests only"
        )
    if not segments:
        raise ImageError(f"{path}: no loadable segments")
    required = required_features(str(notes.get("features", "")))
    missing = sorted(required - SUPPORTED_FEATURES)
    if missing:
        needs = ", ".join(missing)
        raise ImageError(f"{path}: the kernel requires {needs}, which xenlab does not offer")
    image = KernelImage(
        path=str(path),
        entry=int(notes.get("entry", e_entry)),
        virt_base=int(notes.get("virt_base", 0)),
        hypercall_page=notes.get("hypercall_page"),  # type: ignore[arg-type]
        segments=segments,
        notes=notes,
    )
    _check_layout(image)
    return image


def _xen_notes(elf: ELFFile) -> dict[str, object]:
    """Xen's notes, parsed from the raw PT_NOTE bytes: pyelftools names note types by the
    GNU owner's numbering whatever the owner, so its decoded types cannot be used."""
    found: dict[str, object] = {}
    for seg in elf.iter_segments():
        if seg["p_type"] != "PT_NOTE":
            continue
        data = seg.data()
        pos = 0
        while pos + 12 <= len(data):
            namesz, descsz, kind = struct.unpack_from("<III", data, pos)
            name_end = pos + 12 + namesz
            desc_start = pos + 12 + ((namesz + 3) & ~3)
            desc = data[desc_start : desc_start + descsz]
            if desc_start + descsz > len(data):
                raise ImageError("truncated ELF note")
            if data[pos + 12 : name_end].rstrip(b"\0") == b"Xen":
                if kind in _NUMERIC_NOTES:
                    found[_NUMERIC_NOTES[kind]] = int.from_bytes(desc[:4].ljust(4, b"\0"), "little")
                elif kind in _STRING_NOTES:
                    found[_STRING_NOTES[kind]] = desc.split(b"\0")[0].decode("ascii", "replace")
            pos = desc_start + ((descsz + 3) & ~3)
    return found


def _check_layout(image: KernelImage) -> None:
    top = layout.HYPERVISOR_VIRT_START
    for seg in image.segments:
        if seg.vaddr < image.virt_base or seg.vaddr + seg.memsz > top or seg.memsz < len(seg.data):
            raise ImageError(
                f"{image.path}: segment at {seg.vaddr:#x} (+{seg.memsz:#x}) lies outside "
                f"{image.virt_base:#x}..{top:#x} (VIRT_BASE .. the hypervisor hole)"
            )
    if not image.start <= image.entry < image.end:
        raise ImageError(f"{image.path}: entry point {image.entry:#x} is outside the image")
    hp = image.hypercall_page
    if hp is not None and (hp & 0xFFF or not image.start <= hp < image.end):
        raise ImageError(f"{image.path}: HYPERCALL_PAGE {hp:#x} is not a page of the image")
