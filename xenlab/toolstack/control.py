"""Control operations the CLI and the labs use: find an image, build and boot a domain,
summarise what it did.

``boot`` is the one-call path (`xenlab boot NAME`): a fresh hypervisor, one domain, run
to completion.  ``Host`` keeps one hypervisor alive across calls, as a real Xen host does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xenlab.build import BuildError as GuestBuildError
from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import ImageError, KernelImage, load_kernel_image
from xenlab.xen.crash import CrashReport
from xenlab.xen.domain import Domain, DomainState
from xenlab.xen.hypervisor import Xen
from xenlab.xen.traps import trap_name

DEFAULT_MEMORY_MIB = 16
DEFAULT_MAX_INSTRUCTIONS = 2_000_000_000  # a runaway guest is stopped, not waited for
DEFAULT_TIMEOUT_S = 120.0


class BootError(Exception):
    """Bad user input: unknown guest, unreadable image, impossible memory size...  The
    message is one line meant for the user."""


@dataclass
class BootResult:
    """What happened to a booted domain — deterministic fields first, wall clock last."""

    name: str
    domid: int
    state: str  # "shutdown", "crashed", or "running" (budget or deadline hit)
    reason: str  # poweroff / reboot / crash / watchdog / the crash reason / why it was stopped
    console: str
    hypercalls: dict[str, int]
    traps: dict[str, int]
    instructions: int
    virtual_time_ns: int
    first_output_instructions: int | None = None  # boot to first console byte, in instructions
    direct_traps: int = 0  # int $0x80s delivered by the direct gate, never entering Xen
    crash: CrashReport | None = None
    log: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    first_output_wall_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.state == "shutdown" and self.reason == "poweroff"


def resolve_image(name_or_path: str | Path) -> Path:
    """A built-in guest name (built if needed), a guest source directory, or an ELF path."""
    path = Path(name_or_path)
    try:
        if path.is_file():
            return path
        return build_guest(name_or_path)
    except GuestBuildError as exc:
        raise BootError(str(exc)) from exc


def load_image(name_or_path: str | Path) -> KernelImage:
    """The kernel image of a built-in guest, a guest folder or an ELF; BootError if not."""
    try:
        return load_kernel_image(resolve_image(name_or_path))
    except ImageError as exc:
        raise BootError(str(exc)) from exc


def build(xen: Xen, image: KernelImage, **options: Any) -> Domain:
    """``builder.build_domain`` with its refusals (memory sizes, command line, machine
    memory) turned into one-line BootErrors for the user."""
    try:
        return build_domain(xen, image, **options)
    except (ValueError, MemoryError) as exc:
        raise BootError(str(exc)) from exc


def summarize(xen: Xen, domain: Domain, wall: float, first_output: float | None) -> BootResult:
    if domain.state is DomainState.CRASHED:
        state = "crashed"
        reason = domain.crash.reason if domain.crash else "crashed"
    elif domain.state is DomainState.SHUTDOWN:
        state, reason = "shutdown", domain.shutdown_reason or "?"
    else:
        state, reason = "running", domain.state.value
    return BootResult(
        name=domain.name,
        domid=domain.domid,
        state=state,
        reason=reason,
        console=domain.console,
        hypercalls=domain.stats.hypercalls_by_name(),
        traps={trap_name(v): n for v, n in sorted(domain.stats.traps.items())},
        instructions=domain.stats.instructions,
        virtual_time_ns=xen.virtual_time_ns(domain),
        first_output_instructions=domain.stats.first_console_instruction,
        direct_traps=domain.stats.direct_traps,
        crash=domain.crash,
        log=list(xen.log),
        wall_seconds=wall,
        first_output_wall_seconds=first_output,
    )


def boot(
    name_or_path: str | Path,
    *,
    memory_mib: int = DEFAULT_MEMORY_MIB,
    max_memory_mib: int | None = None,
    cmdline: str = "",
    console: Callable[[str], None] | None = None,
    max_instructions: int = DEFAULT_MAX_INSTRUCTIONS,
    timeout: float = DEFAULT_TIMEOUT_S,
    xen: Xen | None = None,
) -> BootResult:
    """Build (if needed) and boot one guest until it shuts down, crashes or runs out of
    budget.  ``console`` receives the guest's output as it is written."""
    image = load_image(name_or_path)
    xen = xen or Xen()
    name = Path(name_or_path).stem if Path(name_or_path).is_file() else Path(str(name_or_path)).name
    started = time.perf_counter()
    domain = build(
        xen, image, name=name, memory_mib=memory_mib, max_memory_mib=max_memory_mib, cmdline=cmdline
    )
    first_output: list[float] = []

    def on_output(data: bytes) -> None:
        if not first_output:
            first_output.append(time.perf_counter() - started)
        if console is not None:
            console(data.decode("utf-8", errors="replace"))

    domain.console_listeners.append(on_output)
    result = xen.run(max_instructions=max_instructions, deadline=time.monotonic() + timeout)
    if domain.alive:
        xen.log.append(f"(XEN) domain {domain.domid} stopped: {result.reason} reached")
    out = summarize(
        xen, domain, time.perf_counter() - started, first_output[0] if first_output else None
    )
    if domain.alive:
        out.reason = {
            "budget": f"instruction budget of {max_instructions} spent",
            "deadline": f"wall-clock limit of {timeout:g} s reached",
            "idle": "blocked with nothing to wake it",
        }[result.reason]
    return out
