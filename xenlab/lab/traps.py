"""Lab 02 (CPU and traps): the trap table a guest registered, the bounce frames it
printed, and the instructions that do not trap at all.

* :func:`boot` — build one guest in a fresh ``Xen`` and run it; returns the hypervisor
  and the domain, so the notebook can look at ``domain.vcpu.trap_table`` afterwards;
* :func:`trap_table_rows` / :func:`trap_table_html` — Xen's copy of the guest's virtual
  IDT (``struct trap_info``: vector, DPL, "mask events", CS, handler), with the handler's
  symbol name from the kernel's ELF;
* :func:`bounce_frames` — the ``traps`` guest's console lines as fields;
* :func:`observations` — the ``sensitive`` guest's console as ``{instruction: line}``;
* :func:`traps_figure` — the traps Xen counted, by vector.

Everything shown is plain data, so assert cells can check it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
from elftools.elf.elffile import ELFFile

from xenlab.abi import layout
from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.domain import Domain
from xenlab.xen.hypervisor import Xen
from xenlab.xen.traps import trap_name


@dataclass
class Booted:
    xen: Xen
    domain: Domain
    image: Path  # the kernel ELF, for symbol names

    @property
    def console(self) -> str:
        return self.domain.console


def boot(
    guest: str, *, cmdline: str = "", memory_mib: int = 8, max_instructions: int = 50_000_000
) -> Booted:
    """Build ``guest`` as the only domain of a new Xen and run it until nothing is runnable
    (or the budget is spent)."""
    xen = Xen(machine_mib=32)
    image = build_guest(guest)
    domain = build_domain(
        xen, load_kernel_image(image), name=guest, memory_mib=memory_mib, cmdline=cmdline
    )
    xen.run(max_instructions=max_instructions)
    return Booted(xen, domain, image)


def symbols(image: Path) -> dict[int, str]:
    """Function symbols of a kernel image, by address."""
    with image.open("rb") as f:
        table = ELFFile(f).get_section_by_name(".symtab")
        return {
            s["st_value"]: s.name
            for s in table.iter_symbols()
            if s.name and s["st_info"]["type"] in ("STT_FUNC", "STT_NOTYPE")
        }


@dataclass(frozen=True)
class TrapRow:
    """One trap-table entry as Xen recorded it."""

    vector: int
    name: str
    dpl: int  # the least privileged ring allowed to raise it with `int n`
    masks_events: bool  # TI_CLEAR_EVENT_MASK: enter with the virtual IF cleared
    cs: int
    address: int
    symbol: str


def trap_table_rows(domain: Domain, image: Path | None = None) -> list[TrapRow]:
    """The domain's trap table, sorted by vector (handler names from ``image`` if given)."""
    assert domain.vcpu is not None
    names = symbols(image) if image is not None else {}
    return [
        TrapRow(
            vector=e.vector,
            name=trap_name(e.vector),
            dpl=e.flags & layout.TI_DPL_MASK,
            masks_events=bool(e.flags & layout.TI_CLEAR_EVENT_MASK),
            cs=e.cs,
            address=e.address,
            symbol=names.get(e.address, "?"),
        )
        for e in sorted(domain.vcpu.trap_table.values(), key=lambda e: e.vector)
    ]


def trap_table_html(rows: list[TrapRow]) -> str:
    head = "".join(
        f"<th>{h}</th>" for h in ("vector", "exception", "DPL", "mask events", "CS", "handler")
    )
    body = "".join(
        f"<tr><td>{r.vector}</td><td>{html.escape(r.name)}</td><td>{r.dpl}</td>"
        f"<td>{'yes' if r.masks_events else ''}</td><td>{r.cs:#06x}</td>"
        f"<td><code>{r.address:#010x}</code> {html.escape(r.symbol)}</td></tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


_TRAP_LINE = re.compile(
    r"trap (?P<vector>\d+) \((?P<mnemonic>#\w+)\) (?P<what>.+?): eip=(?P<eip>\S+) "
    r"cs=(?P<cs>0x[0-9a-f]+) mask=(?P<mask>\d+) error=(?P<error>\S+)(?: cr2=(?P<cr2>\S+))?$"
)


def bounce_frames(console: str) -> list[dict[str, str]]:
    """The ``traps`` guest's lines (``trap 13 (#GP) cli: eip=ok cs=0xe019 ...``) as fields."""
    frames = []
    for line in console.splitlines():
        match = _TRAP_LINE.match(line)
        if match:
            frames.append({k: v or "" for k, v in match.groupdict().items()})
    return frames


def observations(console: str) -> dict[str, str]:
    """The ``sensitive`` guest's lines, by instruction (``sgdt: base=...`` -> ``sgdt``)."""
    out = {}
    for line in console.splitlines():
        name, sep, rest = line.partition(": ")
        if sep and " " not in name:
            out.setdefault(name, rest)
    return out


def traps_figure(domain: Domain, title: str = "") -> go.Figure:
    counts = {trap_name(v): n for v, n in sorted(domain.stats.traps.items())}
    fig = go.Figure(go.Bar(x=list(counts), y=list(counts.values())))
    fig.update_layout(
        title=title or f"traps Xen delivered to {domain.name}",
        yaxis_title="count",
        height=300,
        margin={"t": 40, "b": 40},
    )
    return fig
