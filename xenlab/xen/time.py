"""Time (paper §3.3.2; Xen's common/timer.c and arch time.c): system time, the virtual
TSC, the time a guest reads from shared_info, and one-shot timers.

xenlab's clock is *virtual*: one guest instruction is one nanosecond of a 1 GHz CPU, so
every run of the same guests shows the same times.  Three times, as in the paper:

* **system time** — ns since the machine booted; it also advances while every domain is
  blocked (the idle CPU jumps straight to the next timer);
* **virtual time** of a domain — ns it has actually run (``DomainStats.instructions``);
* **wall-clock time** — a fixed boot date (the SOSP'03 conference) plus system time,
  published in shared_info.

The guest's TSC counts system-time nanoseconds.  CR4.TSD makes ``rdtsc`` a privileged
instruction, so every read traps to Xen, which emulates it (``traps.emulate_rdtsc``, as
Xen's ``tsc_mode=emulate`` does): the guest sees deterministic virtual time, never the
host's cycle counter.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from xenlab.abi import errno, layout
from xenlab.abi import hypercalls as hc
from xenlab.abi.hypercalls import VIRQ_TIMER
from xenlab.xen.events import send_virq, wake

if TYPE_CHECKING:
    from xenlab.hw.cpu import CPU
    from xenlab.xen.domain import VCPU, Domain

NS_PER_INSTRUCTION = 1
BOOT_WALL_CLOCK = 1066608000  # 2003-10-20 00:00 UTC, the first day of SOSP 2003
# vcpu_time_info: system time = ((tsc - tsc_timestamp) << shift) * mul >> 32.  The TSC
# ticks in nanoseconds, so shift 1 and mul 2^31 make the formula the identity.
TSC_SHIFT = 1
TSC_TO_SYSTEM_MUL = 1 << 31
_TIME_INFO = struct.Struct("<I4xQQIb3x")  # version, tsc_timestamp, system_time, mul, shift


class SystemClock:
    """System time in ns: what has run so far, the current run included, plus idle time."""

    def __init__(self, cpu: CPU) -> None:
        self._cpu = cpu
        self._elapsed = 0  # ns up to the start of the current run (or now, between runs)
        self._running = False
        self.run_end = 0  # when the current run will end, at the latest
        self.replan = False  # a timer was set that falls inside the current run

    def now(self) -> int:
        if self._running:
            assert self._cpu.counter is not None
            return self._elapsed + self._cpu.counter.executed() * NS_PER_INSTRUCTION
        return self._elapsed

    def start_run(self, budget: int) -> None:
        self._running = True
        self.run_end = self._elapsed + budget * NS_PER_INSTRUCTION

    def end_run(self, instructions: int) -> None:
        self._running = False
        self._elapsed += instructions * NS_PER_INSTRUCTION

    def idle_until(self, when: int) -> None:
        """Nobody can run: let time pass until ``when`` (the next timer)."""
        self._elapsed = max(self._elapsed, when)


def publish_time(domain: Domain, now: int) -> None:
    """Refresh the vCPU's ``vcpu_time_info`` with Xen's version protocol: the version is
    odd while the record changes, so a guest that reads it twice can tell."""
    memory = domain.machine.memory
    base = (domain.shared_info_mfn << 12) + layout.VI_TIME
    version = memory.read_u32(base)
    memory.write_u32(base, (version + 1) | 1)
    record = _TIME_INFO.pack((version + 1) | 1, now, now, TSC_TO_SYSTEM_MUL, TSC_SHIFT)
    memory.write(base + 4, record[4:])
    memory.write_u32(base, ((version + 1) | 1) + 1)


def init_wall_clock(domain: Domain) -> None:
    """shared_info's wall clock: the time at system time 0 (the guest adds system time)."""
    memory = domain.machine.memory
    base = domain.shared_info_mfn << 12
    memory.write(base + layout.SH_WC_VERSION, struct.pack("<III", 2, BOOT_WALL_CLOCK, 0))


def do_set_timer_op(vcpu: VCPU, timeout_lo: int, timeout_hi: int) -> int:
    """``set_timer_op(u64 timeout)``: a one-shot timer at that system time (0 cancels);
    when it passes, the domain gets VIRQ_TIMER.  A time already past fires at once."""
    deadline = timeout_hi << 32 | timeout_lo
    vcpu.timer_deadline = deadline or None
    clock = vcpu.domain.clock
    if deadline and deadline <= clock.now():
        fire_timer(vcpu)
    elif deadline:
        # The current run was planned without this timer: if it falls inside the run, end
        # the run so the loop can plan again (the domain carries on at once).
        _replan_if_sooner(vcpu, deadline)
    return 0


def fire_timer(vcpu: VCPU) -> None:
    vcpu.timer_deadline = None
    send_virq(vcpu.domain, VIRQ_TIMER)


# ---------------------------------------------------------------- vcpu_op
_SINGLESHOT = struct.Struct("<QI")  # timeout_abs_ns, flags (12 bytes on x86_32)
MIN_PERIOD = 1_000_000  # ns: Xen refuses a periodic timer faster than 1 ms


def do_vcpu_op(vcpu: VCPU, cmd: int, vcpu_id: int, arg: int) -> int:
    """``vcpu_op(cmd, vcpu, arg)``: xenlab domains have one vCPU, number 0, always up;
    each has a one-shot and a periodic timer besides ``set_timer_op``."""
    if vcpu_id != 0:
        return -errno.ENOENT
    guest = vcpu.domain.guest_memory
    clock = vcpu.domain.clock
    if cmd == hc.VCPUOP_is_up:
        return 1
    if cmd == hc.VCPUOP_set_singleshot_timer:
        timeout, flags = _SINGLESHOT.unpack(guest.read(arg, 12))
        if flags & hc.VCPU_SSHOTTMR_future and timeout < clock.now():
            return -errno.ETIME
        return do_set_timer_op(vcpu, timeout & 0xFFFFFFFF, timeout >> 32)
    if cmd == hc.VCPUOP_stop_singleshot_timer:
        vcpu.timer_deadline = None
        return 0
    if cmd == hc.VCPUOP_set_periodic_timer:
        (period,) = struct.unpack("<Q", guest.read(arg, 8))
        if period < MIN_PERIOD:
            return -errno.EINVAL
        vcpu.periodic_period = period
        vcpu.periodic_deadline = clock.now() + period
        _replan_if_sooner(vcpu, vcpu.periodic_deadline)
        return 0
    if cmd == hc.VCPUOP_stop_periodic_timer:
        vcpu.periodic_period, vcpu.periodic_deadline = 0, None
        return 0
    return -errno.ENOSYS  # initialise/up/down/runstate: one vCPU, always up


def _replan_if_sooner(vcpu: VCPU, deadline: int) -> None:
    clock = vcpu.domain.clock
    if deadline < clock.run_end:
        clock.replan = True
        vcpu.domain.machine.cpu.stop()


def due_timers(vcpu: VCPU, now: int) -> int | None:
    """Fire what is due for this vCPU (its timers, a poll's timeout); return the next
    deadline it has, if any."""
    if vcpu.timer_deadline is not None and vcpu.timer_deadline <= now:
        fire_timer(vcpu)
    if vcpu.periodic_deadline is not None and vcpu.periodic_deadline <= now:
        send_virq(vcpu.domain, VIRQ_TIMER)
        while vcpu.periodic_deadline <= now:  # a late tick does not pile up
            vcpu.periodic_deadline += vcpu.periodic_period
    if vcpu.poll_deadline is not None and vcpu.poll_deadline <= now:
        wake(vcpu.domain)  # the poll timed out
    deadlines = [d for d in (vcpu.timer_deadline, vcpu.periodic_deadline, vcpu.poll_deadline) if d]
    return min(deadlines, default=None)
