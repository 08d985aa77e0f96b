"""Domains and their virtual CPUs: the state Xen keeps for each guest (``struct domain``,
``struct vcpu``).

A domain owns machine frames, a shared_info page, a console, and one vCPU whose registers
live in a saved CPU context while it is not running.  Counters kept here feed the labs: which
hypercalls a guest made, which traps it took, how many instructions it ran.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xenlab.abi.hypercalls import HYPERCALLS

if TYPE_CHECKING:
    from xenlab.hw.machine import Machine
    from xenlab.xen.crash import CrashReport
    from xenlab.xen.events import EventChannels
    from xenlab.xen.frametable import FrameTable
    from xenlab.xen.mm import GuestMemory
    from xenlab.xen.setup import Hole
    from xenlab.xen.time import SystemClock

# Hypercall numbers fit in this table; anything above is unknown (-ENOSYS) but still counted.
NR_HYPERCALL_SLOTS = 64
CONSOLE_KEEP_BYTES = 1 << 20  # a chatty guest cannot make the hypervisor hold more than this


class DomainState(enum.Enum):
    PAUSED = "paused"  # created, not yet built and started (Xen creates domains paused)
    RUNNABLE = "runnable"
    BLOCKED = "blocked"
    SHUTDOWN = "shutdown"
    CRASHED = "crashed"


@dataclass(frozen=True)
class TrapInfo:
    """One entry of a guest's trap table (``struct trap_info``)."""

    vector: int
    flags: int  # bits 0-1: DPL allowed to raise it with int n; bit 2: mask events on entry
    cs: int
    address: int


@dataclass
class DomainStats:
    """What the domain did, for labs and tests.  Deterministic: no wall clock in here."""

    hypercalls: list[int] = field(default_factory=lambda: [0] * NR_HYPERCALL_SLOTS)
    unknown_hypercalls: int = 0
    traps: Counter[int] = field(default_factory=Counter)
    instructions: int = 0
    slices: int = 0
    upcalls: int = 0  # event callbacks delivered
    emulated: int = 0  # privileged instructions Xen emulated (rdtsc)
    direct_traps: int = 0  # int $0x80s the CPU delivered through the direct gate (no Xen)
    first_console_instruction: int | None = None

    def hypercalls_by_name(self) -> dict[str, int]:
        out = {HYPERCALLS.get(nr, f"#{nr}"): n for nr, n in enumerate(self.hypercalls) if n}
        if self.unknown_hypercalls:
            out["(unknown)"] = self.unknown_hypercalls
        return out


@dataclass
class VCPU:
    """A virtual CPU: its saved registers and what the guest registered with Xen."""

    vcpu_id: int
    domain: Domain
    context: object  # the CPU's saved register file while descheduled
    cr3: int = 0  # the page-table base Xen validated and loaded (the guest cannot change it)
    baseptr: int = 0  # its frame, typed L3 for as long as it is the base pointer
    gdt_frames: list[int] = field(default_factory=list)  # set_gdt: typed seg_desc while used
    gdt_entries: int = 0
    event_callback: tuple[int, int] | None = None  # (cs, eip) for upcalls: set_callbacks
    failsafe_callback: tuple[int, int] | None = None
    other_callbacks: dict[int, tuple[int, int]] = field(default_factory=dict)  # nmi, sysenter
    vcpu_info: int = 0  # machine address of this vCPU's vcpu_info in shared_info
    timer_deadline: int | None = None  # set_timer_op: system time at which VIRQ_TIMER fires
    periodic_period: int = 0  # VCPUOP_set_periodic_timer: VIRQ_TIMER every this many ns
    periodic_deadline: int | None = None
    poll_ports: frozenset[int] = frozenset()  # SCHEDOP_poll: any of these wakes it
    poll_deadline: int | None = None  # SCHEDOP_poll's timeout
    last_bounce: tuple[int, int] | None = None  # (handler, instruction count) of the last
    ldt_frames: list[int] = field(default_factory=list)  # MMUEXT_SET_LDT: typed seg_desc too
    ldt_entries: int = 0
    trap_table: dict[int, TrapInfo] = field(default_factory=dict)
    kernel_ss: int = 0  # stack_switch(): the ring-1 stack used for traps from ring 3
    kernel_sp: int = 0
    started: bool = False
    # The domain's hypercall counters, reachable in one step from the hypercall path.
    hypercall_counts: list[int] = field(default_factory=list)


class Domain:
    """A guest: its memory, state, console and counters (Xen's ``struct domain``)."""

    def __init__(
        self,
        machine: Machine,
        frametable: FrameTable,
        hole: Hole,
        domid: int,
        name: str,
        *,
        max_pages: int,
        privileged: bool = False,
    ) -> None:
        self.frametable = frametable
        self.hole = hole  # Xen's shared mappings: the M2P, the GDT windows
        self.machine = machine
        self.domid = domid
        self.name = name
        self.privileged = privileged
        self.max_pages = max_pages
        self.tot_pages = 0  # machine frames the domain holds now
        self.state = DomainState.PAUSED
        self.shutdown_reason: str | None = None
        self.pause_count = 0  # > 0: the toolstack paused it (independent of blocking)
        self.crash: CrashReport | None = None
        self.p2m: list[int] = []  # pseudo-physical frame number -> machine frame number
        self.shared_info_mfn = 0
        self.perdomain_l1 = 0  # Xen-owned L1 mapping this domain's GDT window
        self.vm_assist = 0  # bitmap of enabled VMASST_TYPE_* (vm_assist hypercall)
        self.shutdown_code: int | None = None  # SCHEDOP_shutdown_code, kept for the toolstack
        self.vcpu: VCPU | None = None
        self.events: EventChannels | None = None  # its ports (xen.events)
        self.domain_table: dict[int, Domain] = {}  # every domain, by id: for interdomain events
        self.clock: SystemClock | None = None  # the machine's system time (xen.time)
        self.guest_memory: GuestMemory | None = None
        self.stats = DomainStats()
        self._console = bytearray()
        self.console_dropped = 0
        self.console_listeners: list = []  # callables taking the bytes a guest wrote
        # A domain whose kernel is Python, not guest code (xenlab's domain 0, see
        # xenlab/dom0): Xen hands each event raised on its ports to this callable instead
        # of setting bits for an upcall.
        self.on_event: Callable[[int], None] | None = None
        self.control = None  # the Xen that holds this domain, for domctl's operations
        # The console and store rings the builder set up (start_info), for domain 0.
        self.console_mfn = self.console_port = 0
        self.store_mfn = self.store_port = 0

    # -- console ------------------------------------------------------------------
    def console_write(self, data: bytes) -> None:
        self._console += data
        if len(self._console) > CONSOLE_KEEP_BYTES:
            excess = len(self._console) - CONSOLE_KEEP_BYTES
            del self._console[:excess]
            self.console_dropped += excess
        for listener in self.console_listeners:
            listener(data)

    @property
    def console(self) -> str:
        return self._console.decode("utf-8", errors="replace")

    # -- life cycle -----------------------------------------------------------------
    @property
    def alive(self) -> bool:
        return self.state in (DomainState.PAUSED, DomainState.RUNNABLE, DomainState.BLOCKED)

    def shutdown(self, reason: str) -> None:
        if self.alive:
            self.state = DomainState.SHUTDOWN
            self.shutdown_reason = reason

    def __repr__(self) -> str:
        return f"<Domain {self.domid} {self.name!r} {self.state.value}>"
