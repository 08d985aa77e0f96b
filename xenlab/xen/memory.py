"""``memory_op``: a domain's memory reservation — the balloon interface (Xen's
common/memory.c; paper §3.3.4).

Each domain starts with an initial reservation and may grow up to a maximum set by the
toolstack.  A balloon driver in the guest returns frames it does not need
(``decrease_reservation``) and claims frames back (``increase_reservation``,
``populate_physmap``), keeping its own pfn -> mfn map and telling Xen the reverse mapping
through ``MMU_MACHPHYS_UPDATE``.

Simplified: only single-page extents (order 0), and a frame that is still referenced (in
use as a page table, mapped, pinned) cannot be released at all, where Xen would drop the
allocation reference and free the frame later — so "a frame is freed only when
unreferenced" holds trivially.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from xenlab.abi import errno
from xenlab.abi import hypercalls as hc
from xenlab.abi.layout import MACH2PHYS_VIRT_END, MACH2PHYS_VIRT_START
from xenlab.xen.setup import M2P_INVALID

if TYPE_CHECKING:
    from xenlab.xen.domain import VCPU, Domain

_RESERVATION = struct.Struct("<IIIIH2x")  # extent_start, nr_extents, order, flags, domid
_U32 = struct.Struct("<I")


def _own_domain(vcpu: VCPU, domid: int) -> int:
    if domid in (hc.DOMID_SELF, vcpu.domain.domid):
        return 0
    return -errno.EPERM if not vcpu.domain.privileged else -errno.ESRCH


def do_memory_op(vcpu: VCPU, cmd: int, arg: int) -> int:
    op, start = cmd & hc.MEMOP_CMD_MASK, cmd >> hc.MEMOP_EXTENT_SHIFT
    domain = vcpu.domain
    guest = domain.guest_memory
    if op in (
        hc.XENMEM_increase_reservation,
        hc.XENMEM_decrease_reservation,
        hc.XENMEM_populate_physmap,
    ):
        extents, nr, order, _flags, domid = _RESERVATION.unpack(guest.read(arg, 20))
        rc = _own_domain(vcpu, domid)
        if rc:
            return rc
        if order != 0:
            return -errno.EINVAL  # simplified: single pages only
        step = {
            hc.XENMEM_increase_reservation: _increase_one,
            hc.XENMEM_populate_physmap: _populate_one,
            hc.XENMEM_decrease_reservation: _decrease_one,
        }[op]
        for i in range(start, nr):
            if not step(domain, extents + 4 * i if extents else 0):
                return i
        return nr
    if op == hc.XENMEM_maximum_ram_page:
        return domain.machine.memory.nr_frames - 1
    if op in (hc.XENMEM_current_reservation, hc.XENMEM_maximum_reservation):
        (domid,) = struct.unpack("<H", guest.read(arg, 2))
        rc = _own_domain(vcpu, domid)
        if rc:
            return rc
        return domain.tot_pages if op == hc.XENMEM_current_reservation else domain.max_pages
    if op == hc.XENMEM_machphys_mapping:
        max_mfn = (MACH2PHYS_VIRT_END - MACH2PHYS_VIRT_START) // 4 - 1
        mapping = struct.pack("<III", MACH2PHYS_VIRT_START, MACH2PHYS_VIRT_END, max_mfn)
        guest.write(arg, mapping, may_hold_code=False)
        return 0
    return -errno.ENOSYS


def alloc_domheap_pages(domain: Domain, count: int) -> list[int]:
    """Give ``count`` machine frames to ``domain``, scrubbed so nothing leaks from a
    previous owner; MemoryError beyond the domain's maximum or the machine's memory."""
    if domain.tot_pages + count > domain.max_pages:
        raise MemoryError(f"domain {domain.domid} would exceed its {domain.max_pages} pages")
    mfns = domain.machine.frames.alloc(domain.domid, count)
    domain.tot_pages += count
    for mfn in mfns:
        domain.machine.memory.clear_frame(mfn)
        domain.frametable.assign(mfn)
        domain.hole.set_m2p(mfn, M2P_INVALID)  # until the domain says which pfn it is
    # A frame given back earlier may still have code translated from its old contents,
    # keyed by machine address: drop it before anyone can run from the scrubbed frame.
    domain.machine.cpu.flush_translations()
    return mfns


def _allocate(domain: Domain) -> int | None:
    """One more frame for the domain, within its maximum (None when at it or out)."""
    if domain.tot_pages >= domain.max_pages or domain.machine.frames.nr_free == 0:
        return None
    return alloc_domheap_pages(domain, 1)[0]


def _increase_one(domain: Domain, slot: int) -> bool:
    mfn = _allocate(domain)
    if mfn is None:
        return False
    if slot:
        _report(domain, slot, mfn)  # a bad list pointer: the frame stays allocated (as Xen)
    return True


def _populate_one(domain: Domain, slot: int) -> bool:
    """PV populate_physmap: the list holds pfns in, machine frames out."""
    (pfn,) = _U32.unpack(domain.guest_memory.read(slot, 4))
    mfn = _allocate(domain)
    if mfn is None:
        return False
    domain.hole.set_m2p(mfn, pfn)
    _report(domain, slot, mfn)
    return True


def _report(domain: Domain, slot: int, mfn: int) -> None:
    domain.guest_memory.write(slot, _U32.pack(mfn), may_hold_code=False)


def _decrease_one(domain: Domain, slot: int) -> bool:
    """Give one frame back, if the domain owns it and nothing references it."""
    (mfn,) = _U32.unpack(domain.guest_memory.read(slot, 4))
    ft = domain.frametable
    if mfn >= len(ft.count) or ft.owner[mfn] != domain.domid or mfn == domain.shared_info_mfn:
        return False
    if ft.count[mfn] != 1 or ft.type_count[mfn] or ft.pinned[mfn]:
        return False  # still in use: a page table, a GDT frame, or mapped somewhere
    ft.reset(mfn)
    domain.hole.set_m2p(mfn, M2P_INVALID)
    domain.machine.frames.free(mfn)
    domain.tot_pages -= 1
    return True
