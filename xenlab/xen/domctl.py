"""``domctl``: the privileged control interface (paper §2.3, Figure 1's "control interface").

Xen exports the operations that create and manage domains only to a privileged domain:
domain 0 uses them to build domains, pause, unpause and destroy them, set their memory
limits and read their statistics; policy lives in domain 0, mechanism here.  Any other
domain gets -EPERM, whatever it asks.

xenlab's domain 0 is Python (``xenlab.dom0``) and calls the same mechanisms directly
(``Xen.pause_domain`` ...), so this hypercall serves privileged *guests* (a guest built with
``privileged=True``), with Xen 3's ``struct xen_domctl`` layout for a subset of commands.
Simplified: domain creation and building stay with the Python toolstack (a domain builder
in a guest would need foreign mappings); the interface version is Xen 3.1's.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from xenlab.abi import errno
from xenlab.xen.domain import DomainState

if TYPE_CHECKING:
    from xenlab.xen.domain import VCPU, Domain

XEN_DOMCTL_INTERFACE_VERSION = 0x00000005  # Xen 3.1
XEN_DOMCTL_destroydomain = 2
XEN_DOMCTL_pausedomain = 3
XEN_DOMCTL_unpausedomain = 4
XEN_DOMCTL_getdomaininfo = 5
XEN_DOMCTL_max_mem = 11
# getdomaininfo flags
XEN_DOMINF_dying = 1 << 0
XEN_DOMINF_shutdown = 1 << 2
XEN_DOMINF_paused = 1 << 3
XEN_DOMINF_blocked = 1 << 4
XEN_DOMINF_running = 1 << 5
XEN_DOMINF_shutdownshift = 16

# struct xen_domctl: cmd @0, interface_version @4, domain (domid_t) @8, union u @16
# (the union holds 64-bit-aligned fields, so it starts on an 8-byte boundary).
_HEADER = struct.Struct("<IIH")
U_OFFSET = 16
# struct xen_domctl_getdomaininfo (x86_32): domain u16 @0, flags u32 @4, tot_pages u64 @8,
# max_pages u64 @16, shared_info_frame u64 @24, cpu_time u64 @32, nr_online_vcpus u32 @40,
# max_vcpu_id u32 @44, ssidref u32 @48, handle[16] @52.
_DOMAININFO = struct.Struct("<H2xIQQQQIII16s")


def do_domctl(vcpu: VCPU, arg: int) -> int:
    """``domctl(struct xen_domctl *)``: privileged domains only."""
    domain = vcpu.domain
    if not domain.privileged:
        return -errno.EPERM
    guest = domain.guest_memory
    cmd, version, domid = _HEADER.unpack(guest.read(arg, _HEADER.size))
    if version != XEN_DOMCTL_INTERFACE_VERSION:
        return -errno.EACCES  # as Xen: a toolstack built for another interface
    target = domain.domain_table.get(domid)
    if target is None:
        return -errno.ESRCH
    xen_ops = domain.control  # the hypervisor's own operations (set by Xen)
    if cmd == XEN_DOMCTL_getdomaininfo:
        guest.write(arg + U_OFFSET, _domaininfo(target), may_hold_code=False)
        return 0
    if target is domain:
        return -errno.EINVAL  # a domain may not pause, limit or destroy itself this way
    if cmd == XEN_DOMCTL_pausedomain:
        xen_ops.pause_domain(target)
        return 0
    if cmd == XEN_DOMCTL_unpausedomain:
        if not target.pause_count:
            return -errno.EINVAL
        xen_ops.unpause_domain(target)
        return 0
    if cmd == XEN_DOMCTL_destroydomain:
        xen_ops.destroy_domain(target)
        return 0
    if cmd == XEN_DOMCTL_max_mem:
        (max_kb,) = struct.unpack("<Q", guest.read(arg + U_OFFSET, 8))
        if max_kb // 4 < target.tot_pages:
            return -errno.EINVAL  # below what it holds: balloon it down first
        target.max_pages = max_kb // 4
        return 0
    return -errno.ENOSYS


def _domaininfo(target: Domain) -> bytes:
    flags = 0
    if target.state in (DomainState.SHUTDOWN, DomainState.CRASHED):
        flags |= XEN_DOMINF_shutdown | (target.shutdown_code or 0) << XEN_DOMINF_shutdownshift
    if target.pause_count or target.state is DomainState.PAUSED:
        flags |= XEN_DOMINF_paused
    if target.state is DomainState.BLOCKED:
        flags |= XEN_DOMINF_blocked
    if target.state is DomainState.RUNNABLE:
        flags |= XEN_DOMINF_running
    cpu_time = target.stats.instructions  # ns of virtual time (1 instruction = 1 ns)
    return _DOMAININFO.pack(
        target.domid,
        flags,
        target.tot_pages,
        target.max_pages,
        target.shared_info_mfn,
        cpu_time,
        1,
        0,
        0,
        target.name.encode()[:16],
    )
