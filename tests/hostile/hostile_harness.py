"""The hostile-guest suite's machinery: building the attacks and running them.

Each attack is a folder ``attacks/<name>/`` with ``main.c`` (the guest), ``README.md``
(first line ``# <name> — <what it tries>``) and ``expected.txt`` (its exact console, minus
the ``# `` lines that name frames).  To build it, ``main.c`` and the shared ``common.h`` are
copied into one guest folder; every selected attack is built once per session, in parallel,
the first time a test asks for an image.

Each run puts the attacker beside a *bystander* (``bystander/``), an honest domain that keeps
checking a checksum of its memory, page tables and M2P entries, and records everything
outside the attacker's own frames before and after: frame owners, frame-table counts, M2P
entries and the contents of Xen's own frames.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from xenlab.build import build_guest
from xenlab.hw.memory import OWNER_FREE, OWNER_XEN
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.domain import Domain
from xenlab.xen.hypervisor import Xen

HOSTILE = Path(__file__).resolve().parent
ATTACKS = HOSTILE / "attacks"
COMMON_H = HOSTILE / "common.h"
BYSTANDER = HOSTILE / "bystander"

MEMORY_MIB = 4  # each domain's memory: 1024 frames
SLICE = 5_000  # instructions per slice: the two domains take many turns each
BYSTANDER_ROUNDS = 20  # how often the bystander yields and re-checks its world
MAX_INSTRUCTIONS = 50_000_000  # a guest that runs away is stopped, and the test fails

_FRAME_LINE = re.compile(r"^# (\w+) frame (0x[0-9a-f]+)$")


def attack_names() -> list[str]:
    return sorted(p.name for p in ATTACKS.iterdir() if (p / "main.c").is_file())


def describe(name: str) -> str:
    """The README's first line without '# <name> — '."""
    first = (ATTACKS / name / "README.md").read_text(encoding="utf-8").splitlines()[0]
    return first.removeprefix(f"# {name} — ")


def expected_console(name: str) -> str:
    return (ATTACKS / name / "expected.txt").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ building
class Images:
    """Guest images built once per session: the selected attacks in parallel on first use."""

    def __init__(self, staging: Path, wanted: list[str]) -> None:
        self._staging = staging
        self._wanted = wanted
        self._built: dict[str, Path | Exception] | None = None

    def _build_attack(self, name: str) -> tuple[str, Path | Exception]:
        folder = self._staging / name
        folder.mkdir(exist_ok=True)
        shutil.copyfile(ATTACKS / name / "main.c", folder / "main.c")
        shutil.copyfile(COMMON_H, folder / "common.h")
        try:
            return name, build_guest(folder)
        except Exception as exc:  # reported by the test that needs this image
            return name, exc

    def _build_all(self) -> dict[str, Path | Exception]:
        built: dict[str, Path | Exception] = {"bystander": build_guest(BYSTANDER)}
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
            built.update(pool.map(self._build_attack, self._wanted))
        return built

    def __getitem__(self, name: str) -> Path:
        if self._built is None:
            self._built = self._build_all()
        if name not in self._built:  # not selected at collection time
            self._built[name] = self._build_attack(name)[1]
        image = self._built[name]
        if isinstance(image, Exception):
            raise image
        return image


# ------------------------------------------------------------------------------ running
@dataclass
class World:
    """The machine as the attacker may not change it: everything outside its own frames."""

    owners: list[int]  # every frame's owner
    counts: dict[int, tuple[int, int, int, int]]  # frame -> (type, type count, count, pinned)
    m2p: dict[int, int]  # frame -> M2P entry
    xen_frames: dict[int, bytes]  # Xen's frames (but the M2P and the attacker's GDT L1)


def snapshot(xen: Xen, attacker: Domain) -> World:
    owner = list(xen.machine.frames.owner)
    ft = xen.frametable
    memory = xen.machine.memory
    volatile = set(xen.hole.m2p_frames) | {attacker.perdomain_l1}
    outside = [mfn for mfn, o in enumerate(owner) if o != attacker.domid]
    return World(
        owners=owner,
        counts={
            mfn: (ft.type[mfn], ft.type_count[mfn], ft.count[mfn], ft.pinned[mfn])
            for mfn in outside
            if owner[mfn] >= 0
        },
        m2p={mfn: xen.hole.get_m2p(mfn) for mfn in outside},
        xen_frames={
            mfn: bytes(memory.frame(mfn))
            for mfn in outside
            if owner[mfn] == OWNER_XEN and mfn not in volatile
        },
    )


def differences(before: World, after: World, attacker: Domain) -> list[str]:
    """What changed outside the attacker's frames.  The attacker may give frames back
    (they become free) and receive free frames; nothing else may change hands.  The
    bystander's frame-table entries are compared too: it makes no memory-management
    hypercalls, so its counts never move."""
    me, free = attacker.domid, OWNER_FREE
    problems = [
        f"frame {mfn:#x} went from owner {old:#x} to {new:#x}"
        for mfn, (old, new) in enumerate(zip(before.owners, after.owners, strict=True))
        if old != new and (old, new) not in ((me, free), (free, me))
    ]
    stayed = {mfn for mfn, o in enumerate(after.owners) if o != me}
    for what in ("counts", "m2p", "xen_frames"):
        old, new = getattr(before, what), getattr(after, what)
        changed = [mfn for mfn in old if mfn in stayed and new.get(mfn) != old[mfn]]
        problems += [f"{what}: frame {mfn:#x} changed" for mfn in changed]
    if len(problems) > 10:
        problems[10:] = [f"... and {len(problems) - 10} more"]
    return problems


@dataclass
class Run:
    xen: Xen
    attacker: Domain
    bystander: Domain
    reason: str
    changed_outside: list[str]
    frames: dict[str, list[int]] = field(default_factory=dict)  # "# kind frame N" lines
    checks: str = ""  # the console without the "# " lines


def _with_bystander(bystander_image: Path) -> tuple[Xen, Domain]:
    """A hypervisor with the bystander domain built in it."""
    xen = Xen(slice_instructions=SLICE)
    bystander = build_domain(
        xen,
        load_kernel_image(bystander_image),
        name="bystander",
        memory_mib=MEMORY_MIB,
        cmdline=f"rounds={BYSTANDER_ROUNDS}",
    )
    return xen, bystander


def run_attack(image: Path, bystander_image: Path, name: str) -> Run:
    xen, bystander = _with_bystander(bystander_image)
    attacker = build_domain(
        xen,
        load_kernel_image(image),
        name=name,
        memory_mib=MEMORY_MIB,
        cmdline=f"victim={bystander.domid}",
    )
    before = snapshot(xen, attacker)
    result = xen.run(max_instructions=MAX_INSTRUCTIONS)
    run = Run(
        xen,
        attacker,
        bystander,
        result.reason,
        differences(before, snapshot(xen, attacker), attacker),
    )
    lines = []
    for line in attacker.console.splitlines(keepends=True):
        match = _FRAME_LINE.match(line.rstrip("\n"))
        if match:
            run.frames.setdefault(match[1], []).append(int(match[2], 16))
        else:
            lines.append(line)
    run.checks = "".join(lines)
    return run


@dataclass(frozen=True)
class Alone:
    """The bystander run alone: what it prints, and what its memory holds at the end."""

    console: str
    memory: dict[int, bytes]


def bystander_memory(xen: Xen, bystander: Domain) -> dict[int, bytes]:
    """A digest of every frame the bystander owns at the end, but shared_info (which holds
    Xen's clock, and so depends on how the CPU was shared)."""
    memory = xen.machine.memory
    return {
        mfn: hashlib.blake2b(memory.frame(mfn), digest_size=16).digest()
        for mfn in xen.machine.frames.owned_by(bystander.domid)
        if mfn != bystander.shared_info_mfn
    }


def memory_differences(alone: dict[int, bytes], beside: dict[int, bytes]) -> list[str]:
    """Frames of the bystander whose final contents differ from its run alone (it is built
    first, so it gets the same frames either way, and it is deterministic)."""
    changed = [
        mfn for mfn in sorted(alone.keys() | beside.keys()) if alone.get(mfn) != beside.get(mfn)
    ]
    return [f"bystander frame {mfn:#x} differs from its run alone" for mfn in changed]


def run_alone(bystander_image: Path) -> Alone:
    """The bystander alone: what it must print, and hold, beside any attacker."""
    xen, bystander = _with_bystander(bystander_image)
    xen.run(max_instructions=MAX_INSTRUCTIONS)
    assert bystander.shutdown_reason == "poweroff", bystander.console
    return Alone(bystander.console, bystander_memory(xen, bystander))
