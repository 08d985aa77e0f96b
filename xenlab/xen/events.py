"""Event channels: the asynchronous half of the interface (paper §3.1; Xen's
common/event_channel.c).

Hypercalls are synchronous calls into Xen; events go the other way.  Each domain has
1024 *ports*.  A port is bound to something that can raise it: a port of another domain
(interdomain), a virtual interrupt such as the timer (VIRQ), or the domain itself (IPI).
Raising a port sets its bit in the domain's shared ``evtchn_pending`` bitmap; if the
port is not masked, Xen also sets a bit in the vCPU's ``evtchn_pending_sel`` (which word of
the bitmap to look at) and ``evtchn_upcall_pending``, wakes the domain if it blocked, and —
when the guest's virtual interrupt flag allows (``evtchn_upcall_mask`` is 0) — makes an
*upcall*: it bounces the guest into its registered event callback, like an exception, and
masks events until the guest re-enables them.

Xen looks for a pending upcall whenever it returns to the guest: here, after every
hypercall and whenever it schedules the domain in.  A guest that unmasks events itself
therefore makes a cheap hypercall if one is already pending (Mini-OS's
``force_evtchn_callback``).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xenlab.abi import errno, layout
from xenlab.abi import hypercalls as hc
from xenlab.xen.crash import crash_domain
from xenlab.xen.domain import DomainState, TrapInfo
from xenlab.xen.traps import EVENT_CALLBACK_VECTOR, bounce

if TYPE_CHECKING:
    from xenlab.xen.domain import VCPU, Domain

_U32 = struct.Struct("<I")


class PortState(enum.IntEnum):
    """Xen's EVTCHNSTAT_* (what ``EVTCHNOP_status`` reports)."""

    CLOSED = hc.EVTCHNSTAT_closed
    UNBOUND = hc.EVTCHNSTAT_unbound
    INTERDOMAIN = hc.EVTCHNSTAT_interdomain
    VIRQ = hc.EVTCHNSTAT_virq
    IPI = hc.EVTCHNSTAT_ipi


@dataclass
class Channel:
    state: PortState
    remote_dom: int = 0  # UNBOUND: who may bind; INTERDOMAIN: the other end's domain
    remote_port: int = 0  # INTERDOMAIN: the other end's port
    virq: int = 0  # VIRQ: which one


class EventChannels:
    """One domain's ports (port 0 is never handed out, as in Xen)."""

    def __init__(self) -> None:
        self.ports: list[Channel | None] = [None] * hc.NR_EVENT_CHANNELS
        self.virq_port: dict[int, int] = {}

    def allocate(self, channel: Channel) -> int:
        for port in range(1, hc.NR_EVENT_CHANNELS):
            if self.ports[port] is None:
                self.ports[port] = channel
                return port
        return -errno.ENOSPC

    def get(self, port: int) -> Channel | None:
        return self.ports[port] if 0 < port < hc.NR_EVENT_CHANNELS else None


# ---------------------------------------------------------------- delivery
def _vcpu_info(domain: Domain) -> int:
    return domain.shared_info_mfn << 12  # vcpu_info[0]: xenlab domains have one vCPU


def set_pending(domain: Domain, port: int) -> None:
    """Raise ``port`` of ``domain`` (Xen's evtchn_set_pending)."""
    if domain.on_event is not None:
        domain.on_event(port)  # a Python kernel (domain 0's drivers) takes it directly
        return
    memory = domain.machine.memory
    shared = domain.shared_info_mfn << 12
    word, bit = divmod(port, 32)
    pending = shared + layout.SH_EVTCHN_PENDING + 4 * word
    value = memory.read_u32(pending)
    if value >> bit & 1:
        return  # already pending: the guest has not seen the last one yet
    memory.write_u32(pending, value | 1 << bit)
    vcpu = domain.vcpu
    if vcpu is not None and port in vcpu.poll_ports:
        wake(domain)  # a poller waits for this very port, masked or not
    if memory.read_u32(shared + layout.SH_EVTCHN_MASK + 4 * word) >> bit & 1:
        return  # masked: it waits in the bitmap until unmasked
    _raise_selector(domain, word)


def _raise_selector(domain: Domain, word: int) -> None:
    """Set the selector bit; only a newly set one marks events pending and wakes the domain
    (one upcall covers every port in that word), as in Xen."""
    memory = domain.machine.memory
    vcpu_info = _vcpu_info(domain)
    sel = memory.read_u32(vcpu_info + layout.VI_PENDING_SEL)
    if sel >> word & 1:
        return
    memory.write_u32(vcpu_info + layout.VI_PENDING_SEL, sel | 1 << word)
    memory.view[vcpu_info + layout.VI_UPCALL_PENDING] = 1
    wake(domain)  # an event wakes a blocked (or polling) domain


def wake(domain: Domain) -> None:
    """Make a blocked domain runnable again, ending any poll it was in."""
    if domain.state is DomainState.BLOCKED:
        domain.state = DomainState.RUNNABLE
    if domain.vcpu is not None:
        domain.vcpu.poll_ports, domain.vcpu.poll_deadline = frozenset(), None


def send_virq(domain: Domain, virq: int) -> None:
    port = domain.events.virq_port.get(virq)
    if port is not None:
        set_pending(domain, port)


def upcall_pending(vcpu: VCPU) -> bool:
    """Is an upcall due: an event pending and the virtual interrupt flag set?"""
    view = vcpu.domain.machine.memory.view
    vcpu_info = _vcpu_info(vcpu.domain)
    return (
        bool(view[vcpu_info + layout.VI_UPCALL_PENDING])
        and not view[vcpu_info + layout.VI_UPCALL_MASK]
    )


def deliver_upcall(vcpu: VCPU) -> None:
    """Bounce the vCPU into its event callback, masking events (Xen masks on entry; the
    frame's CS carries the old mask, 0, so the guest's return re-enables them)."""
    if vcpu.event_callback is None:
        # Xen would bounce to 0:0 and the guest would die of it: say so directly.
        crash_domain(vcpu, "an event upcall is due, but no event callback is registered")
        return
    cs, eip = vcpu.event_callback
    vcpu.domain.stats.upcalls += 1
    entry = TrapInfo(EVENT_CALLBACK_VECTOR, layout.TI_CLEAR_EVENT_MASK, cs, eip)
    bounce(vcpu, entry, error_code=None, eip=vcpu.domain.machine.cpu.eip)


def check_upcall(vcpu: VCPU) -> None:
    """On the way back to the guest (after a hypercall, when scheduled in)."""
    if upcall_pending(vcpu):
        deliver_upcall(vcpu)


# ---------------------------------------------------------------- hypercalls
def _own(vcpu: VCPU, domid: int) -> int:
    if domid in (hc.DOMID_SELF, vcpu.domain.domid):
        return 0
    return -errno.EPERM if not vcpu.domain.privileged else -errno.ESRCH


def do_event_channel_op(vcpu: VCPU, cmd: int, arg: int) -> int:
    """``event_channel_op(cmd, arg)``: bind, send, close, inspect ports."""
    handler = _OPS.get(cmd)
    if handler is None:
        return -errno.ENOSYS
    return handler(vcpu, arg)


def do_event_channel_op_compat(vcpu: VCPU, op: int) -> int:
    """The pre-3.0.2 form: one ``struct evtchn_op {cmd; union}`` argument."""
    (cmd,) = _U32.unpack(vcpu.domain.guest_memory.read(op, 4))
    return do_event_channel_op(vcpu, cmd, op + 4)


def _alloc_unbound(vcpu: VCPU, arg: int) -> int:
    guest = vcpu.domain.guest_memory
    dom, remote = struct.unpack("<HH", guest.read(arg, 4))
    rc = _own(vcpu, dom)
    if rc:
        return rc
    if remote == hc.DOMID_SELF:
        remote = vcpu.domain.domid
    port = vcpu.domain.events.allocate(Channel(PortState.UNBOUND, remote_dom=remote))
    if port < 0:
        return port
    guest.write(arg + 4, _U32.pack(port), may_hold_code=False)
    return 0


def _bind_interdomain(vcpu: VCPU, arg: int) -> int:
    domain = vcpu.domain
    guest = domain.guest_memory
    (remote_dom,) = struct.unpack("<H", guest.read(arg, 2))
    (remote_port,) = _U32.unpack(guest.read(arg + 4, 4))
    if remote_dom == hc.DOMID_SELF:
        remote_dom = domain.domid
    port = bind_interdomain(domain, remote_dom, remote_port)
    if port < 0:
        return port
    guest.write(arg + 8, _U32.pack(port), may_hold_code=False)
    # Notifications sent to the still-unbound end were lost: raise the new port once, as
    # Xen does, so the guest looks.
    set_pending(domain, port)
    return 0


def bind_interdomain(domain: Domain, remote_dom: int, remote_port: int) -> int:
    """Connect a new port of ``domain`` to ``remote_port`` of ``remote_dom``, which must
    have been offered to ``domain`` (alloc_unbound); the new port, or -errno."""
    remote = domain.domain_table.get(remote_dom)
    if remote is None:
        return -errno.ESRCH
    theirs = remote.events.get(remote_port)
    if theirs is None or theirs.state is not PortState.UNBOUND or theirs.remote_dom != domain.domid:
        return -errno.EINVAL  # not offered to us
    port = domain.events.allocate(Channel(PortState.INTERDOMAIN, remote_dom, remote_port))
    if port < 0:
        return port
    theirs.state, theirs.remote_dom, theirs.remote_port = PortState.INTERDOMAIN, domain.domid, port
    return port


def notify_remote(domain: Domain, port: int) -> None:
    """Raise the other end of ``domain``'s interdomain ``port`` (EVTCHNOP_send)."""
    channel = domain.events.get(port)
    if channel is not None and channel.state is PortState.INTERDOMAIN:
        remote = domain.domain_table.get(channel.remote_dom)
        if remote is not None and remote.alive:
            set_pending(remote, channel.remote_port)


def _bind_virq(vcpu: VCPU, arg: int) -> int:
    domain = vcpu.domain
    virq, vcpu_id = struct.unpack("<II", domain.guest_memory.read(arg, 8))
    if virq >= hc.NR_VIRQS:
        return -errno.EINVAL
    if vcpu_id != 0:
        return -errno.ENOENT
    if virq in domain.events.virq_port:
        return -errno.EEXIST
    port = domain.events.allocate(Channel(PortState.VIRQ, virq=virq))
    if port < 0:
        return port
    domain.events.virq_port[virq] = port
    domain.guest_memory.write(arg + 8, _U32.pack(port), may_hold_code=False)
    return 0


def _bind_ipi(vcpu: VCPU, arg: int) -> int:
    domain = vcpu.domain
    (vcpu_id,) = _U32.unpack(domain.guest_memory.read(arg, 4))
    if vcpu_id != 0:
        return -errno.ENOENT
    port = domain.events.allocate(Channel(PortState.IPI))
    if port < 0:
        return port
    domain.guest_memory.write(arg + 4, _U32.pack(port), may_hold_code=False)
    return 0


def _close(vcpu: VCPU, arg: int) -> int:
    domain = vcpu.domain
    (port,) = _U32.unpack(domain.guest_memory.read(arg, 4))
    channel = domain.events.get(port)
    if channel is None:
        return -errno.EINVAL
    if channel.state is PortState.INTERDOMAIN:
        remote = domain.domain_table.get(channel.remote_dom)
        theirs = remote.events.get(channel.remote_port) if remote else None
        if theirs is not None:  # the other end may be bound again by us later
            theirs.state, theirs.remote_port = PortState.UNBOUND, 0
    elif channel.state is PortState.VIRQ:
        del domain.events.virq_port[channel.virq]
    domain.events.ports[port] = None
    return 0


def _send(vcpu: VCPU, arg: int) -> int:
    domain = vcpu.domain
    (port,) = _U32.unpack(domain.guest_memory.read(arg, 4))
    channel = domain.events.get(port)
    if channel is None or channel.state is PortState.VIRQ:
        return -errno.EINVAL
    if channel.state is PortState.INTERDOMAIN:
        notify_remote(domain, port)
    elif channel.state is PortState.IPI:
        set_pending(domain, port)
    return 0  # an unbound port swallows the notification


def _status(vcpu: VCPU, arg: int) -> int:
    """struct evtchn_status: dom @0 (u16), port @4, status @8, vcpu @12, union @16."""
    domain = vcpu.domain
    guest = domain.guest_memory
    (dom,) = struct.unpack("<H", guest.read(arg, 2))
    (port,) = _U32.unpack(guest.read(arg + 4, 4))
    rc = _own(vcpu, dom)
    if rc:
        return rc
    if not 0 <= port < hc.NR_EVENT_CHANNELS:
        return -errno.EINVAL
    channel = domain.events.get(port)  # port 0 is valid, and always closed
    state = PortState.CLOSED if channel is None else channel.state
    union = b"\0" * 8
    if channel is not None and channel.state is PortState.UNBOUND:
        union = struct.pack("<H6x", channel.remote_dom)
    elif channel is not None and channel.state is PortState.INTERDOMAIN:
        union = struct.pack("<H2xI", channel.remote_dom, channel.remote_port)
    elif channel is not None and channel.state is PortState.VIRQ:
        union = struct.pack("<I4x", channel.virq)
    guest.write(arg + 8, struct.pack("<II", state, 0) + union, may_hold_code=False)
    return 0


def _unmask(vcpu: VCPU, arg: int) -> int:
    """Clear a port's mask bit; if it was pending meanwhile, raise the selector now."""
    domain = vcpu.domain
    (port,) = _U32.unpack(domain.guest_memory.read(arg, 4))
    if not 0 < port < hc.NR_EVENT_CHANNELS:
        return -errno.EINVAL
    memory = domain.machine.memory
    shared = domain.shared_info_mfn << 12
    word, bit = divmod(port, 32)
    mask = shared + layout.SH_EVTCHN_MASK + 4 * word
    was = memory.read_u32(mask)
    if not was >> bit & 1:
        return 0  # it was not masked: nothing can have been held back
    memory.write_u32(mask, was & ~(1 << bit))
    if memory.read_u32(shared + layout.SH_EVTCHN_PENDING + 4 * word) >> bit & 1:
        _raise_selector(domain, word)
    return 0


def _bind_vcpu(vcpu: VCPU, arg: int) -> int:
    port, vcpu_id = struct.unpack("<II", vcpu.domain.guest_memory.read(arg, 8))
    if vcpu.domain.events.get(port) is None:
        return -errno.EINVAL
    return 0 if vcpu_id == 0 else -errno.ENOENT  # one vCPU per domain


_OPS = {
    hc.EVTCHNOP_alloc_unbound: _alloc_unbound,
    hc.EVTCHNOP_bind_interdomain: _bind_interdomain,
    hc.EVTCHNOP_bind_virq: _bind_virq,
    hc.EVTCHNOP_bind_ipi: _bind_ipi,
    hc.EVTCHNOP_close: _close,
    hc.EVTCHNOP_send: _send,
    hc.EVTCHNOP_status: _status,
    hc.EVTCHNOP_unmask: _unmask,
    hc.EVTCHNOP_bind_vcpu: _bind_vcpu,
}


# ---------------------------------------------------------------- callbacks
def _callback_ok(cs: int) -> bool:
    return cs & 3 != 0  # never a ring-0 code segment (paper §2.1.2), as for the trap table


def do_set_callbacks(
    vcpu: VCPU, event_cs: int, event_eip: int, failsafe_cs: int, failsafe_eip: int
) -> int:
    """``set_callbacks``: where upcalls (and failed returns) enter the guest kernel."""
    if not _callback_ok(event_cs) or not _callback_ok(failsafe_cs):
        return -errno.EPERM
    vcpu.event_callback = (event_cs, event_eip)
    vcpu.failsafe_callback = (failsafe_cs, failsafe_eip)
    return 0


def do_callback_op(vcpu: VCPU, cmd: int, arg: int) -> int:
    """``callback_op``: register or unregister one callback; ``struct callback_register``
    is {u16 type; u16 flags; u32 cs; u32 eip} on x86_32."""
    guest = vcpu.domain.guest_memory
    if cmd == hc.CALLBACKOP_register:
        type_, _flags, cs, eip = struct.unpack("<HHII", guest.read(arg, 12))
        if not _callback_ok(cs):
            return -errno.EPERM
        if type_ == hc.CALLBACKTYPE_event:
            vcpu.event_callback = (cs, eip)
        elif type_ == hc.CALLBACKTYPE_failsafe:
            vcpu.failsafe_callback = (cs, eip)
        elif type_ in (hc.CALLBACKTYPE_nmi, hc.CALLBACKTYPE_sysenter):
            vcpu.other_callbacks[type_] = (cs, eip)  # recorded; nothing raises them yet
        else:
            return -errno.EINVAL  # syscall/syscall32: 64-bit guests only
        return 0
    if cmd == hc.CALLBACKOP_unregister:
        (type_,) = struct.unpack("<H", guest.read(arg, 2))
        if type_ in (hc.CALLBACKTYPE_nmi, hc.CALLBACKTYPE_sysenter):
            vcpu.other_callbacks.pop(type_, None)
            return 0
        return -errno.EINVAL  # event and failsafe callbacks cannot be unregistered
    return -errno.ENOSYS
