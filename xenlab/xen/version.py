"""``xen_version``: what the hypervisor says about itself (``version.h``).

The numbers are Xen 3.0's, since xenlab implements the Xen 3 32-bit PAE guest ABI; the
extraversion says which hypervisor the guest is really talking to.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from xenlab.abi import errno
from xenlab.abi import hypercalls as hc
from xenlab.abi.layout import HYPERVISOR_VIRT_START

if TYPE_CHECKING:
    from xenlab.xen.domain import VCPU

XEN_MAJOR, XEN_MINOR = 3, 0
EXTRAVERSION = b"-xenlab"
CAPABILITIES = b"xen-3.0-x86_32p"
CHANGESET = b"xenlab"
# XENFEAT bits this hypervisor offers in submap 0: a PAE top-level table may live in any
# frame (xenlab has no 4 GiB limit for it).  No writable page tables, no auto-translation.
FEATURES_SUBMAP0 = 1 << hc.XENFEAT_pae_pgdir_above_4gb


def _fixed(text: bytes, size: int) -> bytes:
    return text[: size - 1].ljust(size, b"\0")


def do_xen_version(vcpu: VCPU, cmd: int, arg: int) -> int:
    """``xen_version(cmd, arg)``.  XENVER_version needs no guest memory: it is the null
    hypercall the benchmarks time."""
    if cmd == hc.XENVER_version:
        return (XEN_MAJOR << 16) | XEN_MINOR
    guest = vcpu.domain.guest_memory
    if cmd == hc.XENVER_extraversion:
        guest.write(arg, _fixed(EXTRAVERSION, 16), may_hold_code=False)
    elif cmd == hc.XENVER_compile_info:
        info = (
            _fixed(b"python", 64)
            + _fixed(b"xenlab", 16)
            + _fixed(b"localdomain", 32)
            + _fixed(b"reproducible", 32)
        )
        guest.write(arg, info, may_hold_code=False)
    elif cmd == hc.XENVER_capabilities:
        guest.write(arg, _fixed(CAPABILITIES, 1024), may_hold_code=False)
    elif cmd == hc.XENVER_changeset:
        guest.write(arg, _fixed(CHANGESET, 64), may_hold_code=False)
    elif cmd == hc.XENVER_platform_parameters:
        guest.write(arg, struct.pack("<I", HYPERVISOR_VIRT_START), may_hold_code=False)
    elif cmd == hc.XENVER_get_features:
        if guest.read_u32(arg) != 0:  # XENFEAT_NR_SUBMAPS is 1
            return -errno.EINVAL
        guest.write(arg + 4, struct.pack("<I", FEATURES_SUBMAP0), may_hold_code=False)
    elif cmd == hc.XENVER_pagesize:
        return 4096
    elif cmd == hc.XENVER_guest_handle:
        guest.write(arg, bytes(16), may_hold_code=False)
    elif cmd == hc.XENVER_commandline:
        guest.write(arg, bytes(1024), may_hold_code=False)
    else:
        return -errno.ENOSYS
    return 0
