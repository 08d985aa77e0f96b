"""Scheduling (Xen's common/schedule.c): ``sched_op`` and the choice of who runs next.

Three schedulers share one interface (``Scheduler``): plain round-robin with a fixed
slice of guest instructions (the default), Borrowed Virtual Time (``sched_bvt``, paper
§3.3.1) and a credit scheduler (``sched_credit``, BVT's successor in Xen 3).
Slices are counted in instructions, not wall-clock time, so runs are deterministic.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Protocol

from xenlab.abi import errno, layout
from xenlab.abi.hypercalls import (
    MAX_POLL_PORTS,
    NR_EVENT_CHANNELS,
    SHUTDOWN_REASONS,
    SCHEDOP_block,
    SCHEDOP_poll,
    SCHEDOP_shutdown,
    SCHEDOP_shutdown_code,
    SCHEDOP_yield,
)
from xenlab.xen.domain import Domain, DomainState

if TYPE_CHECKING:
    from xenlab.xen.domain import VCPU

DEFAULT_SLICE = 100_000  # guest instructions per slice (slice overhead < 1%: field notes)


def _events_pending(vcpu: VCPU) -> bool:
    vcpu_info = (vcpu.domain.shared_info_mfn << 12) + vcpu.vcpu_id * layout.VCPU_INFO_SIZE
    return bool(vcpu.domain.machine.memory.view[vcpu_info + layout.VI_UPCALL_PENDING])


def _block(vcpu: VCPU) -> int:
    """Block until an event: atomically re-enable event delivery (clear the virtual IF's
    mask) and return at once if an event is already pending — the guest's race-free
    "enable interrupts and halt"."""
    memory = vcpu.domain.machine.memory
    vcpu_info = (vcpu.domain.shared_info_mfn << 12) + vcpu.vcpu_id * layout.VCPU_INFO_SIZE
    memory.view[vcpu_info + layout.VI_UPCALL_MASK] = 0
    if not _events_pending(vcpu):
        vcpu.domain.state = DomainState.BLOCKED
        vcpu.domain.machine.cpu.stop()
    return 0


def _poll(vcpu: VCPU, arg: int) -> int:
    """SCHEDOP_poll({ports, nr_ports, timeout}): sleep until one of these ports is pending
    (masked or not), or an upcall is due (an event pending with events enabled:
    Xen's local_events_need_delivery), or system time passes ``timeout`` (0: no timeout).
    Unlike block, it leaves the virtual interrupt flag alone."""
    guest = vcpu.domain.guest_memory
    ports_ptr, nr_ports, timeout = struct.unpack("<IIQ", guest.read(arg, 16))
    if nr_ports > MAX_POLL_PORTS:
        return -errno.EINVAL
    ports = struct.unpack(f"<{nr_ports}I", guest.read(ports_ptr, 4 * nr_ports))
    if any(port >= NR_EVENT_CHANNELS for port in ports):
        return -errno.EINVAL
    memory = vcpu.domain.machine.memory
    shared = vcpu.domain.shared_info_mfn << 12
    for port in ports:
        if memory.read_u32(shared + layout.SH_EVTCHN_PENDING + 4 * (port // 32)) >> port % 32 & 1:
            return 0  # already pending: no need to sleep
    vcpu_info = shared + vcpu.vcpu_id * layout.VCPU_INFO_SIZE
    upcall_due = _events_pending(vcpu) and not memory.view[vcpu_info + layout.VI_UPCALL_MASK]
    if upcall_due or (timeout and timeout <= vcpu.domain.clock.now()):
        return 0
    vcpu.poll_ports = frozenset(ports)
    vcpu.poll_deadline = timeout or None
    vcpu.domain.state = DomainState.BLOCKED
    vcpu.domain.machine.cpu.stop()
    return 0


def _shutdown(vcpu: VCPU, reason: int) -> int:
    name = SHUTDOWN_REASONS.get(reason)
    if name is None:
        return -errno.EINVAL
    vcpu.domain.shutdown(name)
    vcpu.domain.machine.cpu.stop()
    return 0


def do_sched_op(vcpu: VCPU, cmd: int, arg: int) -> int:
    """``sched_op(cmd, arg)`` (sched.h): yield, block, shutdown."""
    if cmd == SCHEDOP_yield:
        vcpu.domain.machine.cpu.stop()  # end the slice; the domain stays runnable
        return 0
    if cmd == SCHEDOP_block:
        return _block(vcpu)
    if cmd == SCHEDOP_shutdown:
        (reason,) = struct.unpack("<I", vcpu.domain.guest_memory.read(arg, 4))
        return _shutdown(vcpu, reason)
    if cmd == SCHEDOP_poll:
        return _poll(vcpu, arg)
    if cmd == SCHEDOP_shutdown_code:
        (reason,) = struct.unpack("<I", vcpu.domain.guest_memory.read(arg, 4))
        if reason not in SHUTDOWN_REASONS:
            return -errno.EINVAL
        vcpu.domain.shutdown_code = reason
        return 0
    return -errno.ENOSYS  # remote_shutdown, watchdog: with domain 0


def do_sched_op_compat(vcpu: VCPU, cmd: int, arg: int) -> int:
    """The pre-3.0.2 ``sched_op``: the shutdown reason is the argument itself."""
    if cmd == SCHEDOP_shutdown:
        return _shutdown(vcpu, arg)
    if cmd in (SCHEDOP_yield, SCHEDOP_block):
        return do_sched_op(vcpu, cmd, arg)
    return -errno.ENOSYS


class Scheduler(Protocol):
    """What the run loop asks of a scheduler (``RoundRobin``, ``BVT``, ``Credit``)."""

    name: str
    slice: int  # how long the domain ``pick`` just chose may run (instructions)

    def pick(self, domains: list[Domain]) -> Domain | None: ...

    def charge(self, domain: Domain, ran: int) -> None: ...


class RoundRobin:
    """Pick runnable domains in turn, each for a fixed slice (no weights, no warp)."""

    name = "rr"

    def __init__(self, slice_instructions: int = DEFAULT_SLICE) -> None:
        self.slice = slice_instructions
        self._last = -1

    def charge(self, domain: Domain, ran: int) -> None:
        pass  # round-robin keeps no account

    def pick(self, domains: list[Domain]) -> Domain | None:
        """The first runnable domain after the last one picked (``domains`` come in domid
        order), wrapping round; one pass, since it runs before every slice."""
        first = None
        runnable = DomainState.RUNNABLE
        for d in domains:
            if d.state is runnable and not d.pause_count:
                if d.domid > self._last:
                    first = d
                    break
                if first is None:
                    first = d
        if first is not None:
            self._last = first.domid
        return first
