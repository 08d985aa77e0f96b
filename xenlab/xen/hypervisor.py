"""The hypervisor: domains on the machine, the trap entry point and the run loop.

``Xen`` owns the machine (``xenlab.hw``), the hypervisor hole (``setup``), the table of
domains and the scheduler.  Each trap the CPU takes comes to :meth:`Xen._on_trap`: a
ring-1 ``int $0x82`` goes to the hypercall table, everything else to ``traps``.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from xenlab.abi.hypercalls import HYPERCALL_VECTOR, VIRQ_DOM_EXC
from xenlab.hw import x86
from xenlab.hw.cpu import EmulationError
from xenlab.hw.machine import DEFAULT_MACHINE_MIB, Machine
from xenlab.hw.memory import OWNER_FREE
from xenlab.xen.crash import crash_domain
from xenlab.xen.descriptors import frame_of_descriptors_ok
from xenlab.xen.domain import VCPU, Domain, DomainState
from xenlab.xen.events import EventChannels, check_upcall, send_virq
from xenlab.xen.frametable import FrameTable, PageType
from xenlab.xen.hypercall import make_hypercall_entry
from xenlab.xen.memory import alloc_domheap_pages
from xenlab.xen.mm import GuestMemory
from xenlab.xen.schedule import RoundRobin, Scheduler
from xenlab.xen.setup import M2P_INVALID, Hole, bring_up_cpu
from xenlab.xen.time import (
    NS_PER_INSTRUCTION,
    SystemClock,
    due_timers,
    init_wall_clock,
    publish_time,
)
from xenlab.xen.traps import account_direct_traps, handle_trap

MAX_DOMAINS = 0x7FF0  # DOMID_FIRST_RESERVED
TRACE_SLICES = 100_000  # the scheduling trace keeps this many slices


@dataclass
class RunResult:
    """Why ``Xen.run`` returned, and how long it took on the host."""

    reason: str  # "idle" (nobody runnable), "budget" (instruction budget spent), "deadline"
    instructions: int
    wall_seconds: float


class Xen:
    def __init__(
        self,
        machine_mib: int = DEFAULT_MACHINE_MIB,
        *,
        slice_instructions: int | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.machine = Machine.create(machine_mib)
        self.hole = Hole(self.machine.memory, self.machine.frames)
        self.cpu = self.machine.cpu
        self.cpu.trap_handler = self._on_trap
        bring_up_cpu(self.cpu, self.hole)
        self.domains: dict[int, Domain] = {}
        self.frametable = FrameTable(
            self.machine.memory,
            self.machine.frames.owner,
            lambda domid: self.hole.xen_l2_entries(self.domains[domid].perdomain_l1),
            frame_of_descriptors_ok,
        )
        if scheduler is None:
            scheduler = (
                RoundRobin() if slice_instructions is None else RoundRobin(slice_instructions)
            )
        self.scheduler: Scheduler = scheduler
        self._current: list[VCPU | None] = [None]  # shared with the hypercall entry
        self.cpu.set_fast_interrupt(
            HYPERCALL_VECTOR,
            1,
            make_hypercall_entry(self.cpu.regs, self._current, self.machine.memory.view),
        )
        self.system_instructions = 0  # guest instructions run, all domains together
        self.clock = SystemClock(self.cpu)  # system time (xen.time): runs, and idle jumps
        self.log: list[str] = []  # the hypervisor's own messages (``xl dmesg``)
        # Who ran when, for timelines: (domid, start, end) in system time, newest last.
        self.trace: deque[tuple[int, int, int]] = deque(maxlen=TRACE_SLICES)
        self._next_domid = 0
        # Work a Python domain 0 does between slices (its back-end drivers and daemons,
        # xenlab/dom0): each returns True if it did something that may wake a domain.
        self.services: list[Callable[[], bool]] = []
        self.on_destroy: list[Callable[[Domain], None]] = []  # domain 0's clean-up
        # Guest frames a back end in domain 0 holds mapped writable (a block or network
        # ring page: a page and a writable-type reference each, as a grant mapping takes);
        # check_invariants counts them with the other references held outside page tables.
        self.foreign_mappings: Counter[int] = Counter()

    # ------------------------------------------------------------------ domains
    def create_domain(self, name: str, *, max_pages: int, privileged: bool = False) -> Domain:
        """A new, empty domain, paused until the builder starts it (``domctl createdomain``)."""
        if len(self.domains) >= MAX_DOMAINS:
            raise RuntimeError("too many domains")
        domid = self._next_domid
        self._next_domid += 1
        domain = Domain(
            self.machine,
            self.frametable,
            self.hole,
            domid,
            name,
            max_pages=max_pages,
            privileged=privileged,
        )
        vcpu = VCPU(0, domain, self.cpu.new_context(), hypercall_counts=domain.stats.hypercalls)
        domain.vcpu = vcpu
        domain.guest_memory = GuestMemory(self.machine.memory, self.cpu, vcpu)
        domain.perdomain_l1 = self.hole.new_perdomain_l1()
        # shared_info is a hypervisor page shared with the guest: the domain may map it,
        # but it does not count against the domain's memory (Xen: share_xen_page_with_guest).
        (domain.shared_info_mfn,) = self.machine.frames.alloc(domid, 1)
        self.machine.memory.clear_frame(domain.shared_info_mfn)
        self.frametable.assign(domain.shared_info_mfn)
        vcpu.vcpu_info = domain.shared_info_mfn << 12
        domain.events = EventChannels()
        domain.domain_table = self.domains
        domain.control = self
        domain.clock = self.clock
        init_wall_clock(domain)
        self.domains[domid] = domain
        self.log.append(f"(XEN) created domain {domid} ({name})")
        return domain

    def allocate(self, domain: Domain, count: int) -> list[int]:
        """Give ``count`` scrubbed machine frames to ``domain`` (the domain builder's
        populate step); raises MemoryError beyond its maximum or the machine's memory."""
        return alloc_domheap_pages(domain, count)

    def pause_domain(self, domain: Domain) -> None:
        """Stop scheduling a domain (``xl pause``); it keeps its state and its events."""
        domain.pause_count += 1

    def unpause_domain(self, domain: Domain) -> None:
        if domain.pause_count == 0:
            raise ValueError(f"domain {domain.domid} is not paused")
        domain.pause_count -= 1

    def destroy_domain(self, domain: Domain) -> None:
        """Free every frame the domain owned and forget it."""
        frames = self.machine.frames
        for mfn, owner in enumerate(frames.owner):
            if owner == domain.domid:
                frames.free(mfn)
                self.frametable.reset(mfn)
                self.hole.set_m2p(mfn, M2P_INVALID)
        self.hole.release_perdomain_l1(domain.perdomain_l1)
        # Frames will be reused: drop any code translated from them.
        self.cpu.flush_translations()
        del self.domains[domain.domid]
        assert all(o != domain.domid for o in frames.owner if o != OWNER_FREE)
        domain.state = DomainState.CRASHED if domain.alive else domain.state
        for hook in self.on_destroy:
            hook(domain)

    def start_vcpu(self, domain: Domain, *, eip: int, esp: int, esi: int, l3_mfn: int) -> None:
        """Load the initial register state (Xen's start-of-day contract: ring 1, EIP = the
        entry point, ESI = start_info, CR3 = the top-level table ``l3_mfn``, which must
        validate) and unpause the domain."""
        vcpu = domain.vcpu
        assert vcpu is not None
        if self.frametable.get_page_and_type(l3_mfn, PageType.L3, domain.domid):
            raise ValueError(f"frame {l3_mfn:#x} does not validate as an L3 table")
        vcpu.baseptr = l3_mfn
        cr3 = x86.xen_pfn_to_cr3(l3_mfn)
        cpu = self.cpu
        previous = self._current[0]
        if previous is not None:
            # The CPU still holds the vCPU that ran last: keep its state before the new
            # vCPU's start state replaces it, and let the next slice load, not save.
            if previous.domain.alive:
                cpu.save_context(previous.context)
            self._current[0] = None
        cpu.reset(1)  # a clean ring-1 state: no other domain's LDT, FPU or CR0.TS
        for i in range(8):
            cpu.set_reg(i, 0)
        cpu.set_reg(6, esi)
        vcpu.cr3 = cr3
        cpu.enter_ring(1, eip=eip, esp=esp, eflags=0x202, cr3=cr3)
        cpu.save_context(vcpu.context)
        vcpu.started = True
        domain.state = DomainState.RUNNABLE
        # The image was written behind the CPU's back into frames that may have held code.
        cpu.flush_translations()

    def check_invariants(self) -> list[str]:
        """Recompute every frame's counts from the page tables and compare (empty = sound)."""
        owned: dict[int, list[int]] = {domid: [] for domid in self.domains}
        for mfn, owner in enumerate(self.machine.frames.owner):
            if owner in owned:
                owned[owner].append(mfn)
        roots: Counter[int] = Counter()
        for domain in self.domains.values():
            if domain.vcpu and domain.vcpu.started:
                roots[domain.vcpu.baseptr] += 1
                roots.update(domain.vcpu.gdt_frames)
                roots.update(domain.vcpu.ldt_frames)
        roots.update(self.foreign_mappings)
        return self.frametable.check(owned, roots)

    # ------------------------------------------------------------------ traps
    @property
    def current(self) -> VCPU | None:
        """The vCPU on the CPU now."""
        return self._current[0]

    def _on_trap(self, vector: int, software: bool) -> None:
        # Ring-1 hypercalls never come here (the CPU's fast path takes them).  int $0x82
        # from ring 3 does, and handle_trap turns it into #GP: the gate's DPL is 1.
        handle_trap(self._current[0], vector, software)

    # ------------------------------------------------------------------ running
    def run(
        self, *, max_instructions: int | None = None, deadline: float | None = None
    ) -> RunResult:
        """Run domains until none is runnable, the instruction budget is spent, or the
        wall-clock ``deadline`` (``time.monotonic()`` value) passes."""
        started = time.monotonic()
        spent = 0
        domains = self.domains
        resume = None  # a domain whose run ended only so a new timer could be planned
        while True:
            next_timer = self._fire_timers()
            # The limits come before the pick: a pick commits the scheduler (round-robin
            # passes the turn), so a run that ends on its budget must not make one.
            limit = None
            if max_instructions is not None and spent >= max_instructions:
                limit = "budget"
            elif deadline is not None and time.monotonic() >= deadline:
                limit = "deadline"
            if limit is not None and any(
                d.state is DomainState.RUNNABLE and not d.pause_count for d in domains.values()
            ):
                return RunResult(limit, spent, time.monotonic() - started)
            if (
                resume is not None
                and resume.state is DomainState.RUNNABLE
                and not resume.pause_count
            ):
                domain = resume
            else:
                domain = self.scheduler.pick(list(domains.values()))
            resume = None
            if domain is None:
                if self._run_services():
                    continue  # domain 0 answered someone: look again
                if next_timer is None:
                    return RunResult("idle", spent, time.monotonic() - started)
                self.clock.idle_until(next_timer)  # everyone waits: time jumps to the timer
                continue
            budget = self.scheduler.slice
            if max_instructions is not None:
                budget = min(budget, max_instructions - spent)
            if next_timer is not None:  # stop in time to fire it
                budget = max(1, min(budget, next_timer - self.clock.now()))
            ran = self._run_slice(domain, budget)
            self.scheduler.charge(domain, ran)
            spent += ran
            if self.services:
                self._run_services()
            if self.clock.replan:
                self.clock.replan = False
                resume = domain

    def _run_services(self) -> bool:
        """Let domain 0's drivers run (simplified: they take no virtual time)."""
        did = False
        for service in self.services:
            did = service() or did
        return did

    def _fire_timers(self) -> int | None:
        """Fire every timer that is due; return when the next one is (system time)."""
        now = self.clock.now()
        upcoming = None
        for domain in self.domains.values():
            vcpu = domain.vcpu
            # Runs before every slice, over every domain: the common case (no timer armed)
            # must cost a few attribute reads, or 128 domains pay for it in every slice.
            if vcpu is None or (
                vcpu.timer_deadline is None
                and vcpu.periodic_deadline is None
                and vcpu.poll_deadline is None
            ):
                continue
            if not domain.alive:
                continue
            nxt = due_timers(vcpu, now)
            if nxt is not None and (upcoming is None or nxt < upcoming):
                upcoming = nxt
        return upcoming

    def _run_slice(self, domain: Domain, budget: int) -> int:
        vcpu = domain.vcpu
        assert vcpu is not None and vcpu.started
        cpu = self.cpu
        previous = self._current[0]
        if previous is not vcpu:
            if previous is not None and previous.domain.alive:
                cpu.save_context(previous.context)
            cpu.load_context(vcpu.context)
            self._current[0] = vcpu
        start = self.clock.now()
        publish_time(domain, start)  # the guest's view of time, when scheduled in
        check_upcall(vcpu)  # events that arrived while it was descheduled
        self.clock.start_run(budget)
        try:
            ran = cpu.run(budget)
        except EmulationError as exc:
            ran = cpu.counter.executed() if cpu.counter else 0
            crash_domain(vcpu, f"the emulated CPU stopped: {exc}")
        self.clock.end_run(ran)
        account_direct_traps(vcpu)
        self.trace.append((domain.domid, start, self.clock.now()))
        domain.stats.instructions += ran
        domain.stats.slices += 1
        self.system_instructions += ran
        if not domain.alive:
            # VIRQ_DOM_EXC: tell the privileged domains (domain 0's toolstack) that a
            # domain has shut down or crashed, as Xen's send_global_virq does.
            for other in self.domains.values():
                if other.privileged and other is not domain:
                    send_virq(other, VIRQ_DOM_EXC)
        if domain.state is DomainState.CRASHED and domain.crash is not None:
            self.log.append(
                f"(XEN) domain {domain.domid} ({domain.name}) crashed: {domain.crash.reason}"
            )
        elif domain.state is DomainState.SHUTDOWN:
            self.log.append(
                f"(XEN) domain {domain.domid} ({domain.name}) shut down: {domain.shutdown_reason}"
            )
        return ran

    def virtual_time_ns(self, domain: Domain | None = None) -> int:
        """A domain's virtual time (ns it has run: one instruction is one nanosecond of
        a 1 GHz CPU), or without a domain the machine's system time, idle time included.
        Deterministic by construction; wall-clock figures are reported apart."""
        if domain is None:
            return self.clock.now()
        return domain.stats.instructions * NS_PER_INSTRUCTION
