"""Segment descriptors: ``set_gdt``, ``update_descriptor`` and the LDT (``MMUEXT_SET_LDT``)
(Table 1, "segmentation").

A guest may install its own GDT (up to 14 pages, entries below Xen's reserved ones at
7168), but every descriptor is checked first, and the frames become type "seg_desc", so
they can never be mapped writable while in use (paper §3.3.3).  The rules
(:func:`descriptor_ok`):

* no descriptor with DPL 0 — ring 0 is Xen's;
* no system descriptors (call gates, task gates, TSSs, LDTs) — simplified: Xen allows call
  gates into rings 1-3 and LDT descriptors; xenlab refuses them all;
* no segment reaching the hypervisor hole: base + limit must stay below the end of the
  read-only M2P (Xen truncates such a limit instead; xenlab refuses, and since Unicorn
  enforces no segment limits at all, this check is the protection that counts);
* no expand-down data segments (simplified: their range always reaches the top).

Not-present descriptors are always accepted.  GDT and LDT frames are mapped read-only into
the domain's GDT and LDT windows in the hypervisor hole (``setup.Hole``), which is where
the CPU's GDTR and LDTR point.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from xenlab.abi import errno, layout
from xenlab.hw import x86
from xenlab.xen.frametable import PageType
from xenlab.xen.setup import LDT_PAGES, LDT_VIRT_START

if TYPE_CHECKING:
    from xenlab.xen.domain import VCPU

_DESC = struct.Struct("<II")
ENTRIES_PER_FRAME = layout.PAGE_SIZE // 8
_TYPE_CODE = 0x8
_TYPE_EXPAND_DOWN = 0x4  # for data segments


def descriptor_ok(lo: int, hi: int) -> bool:
    """Is this 8-byte descriptor safe to let a guest load?"""
    desc = x86.decode_descriptor(_DESC.pack(lo, hi))
    if not desc.present:
        return True
    if not desc.s or desc.dpl == 0:
        return False
    if not desc.type & _TYPE_CODE and desc.type & _TYPE_EXPAND_DOWN:
        return False
    return desc.base + desc.limit < layout.GUEST_SEGMENT_MAX_ADDR


def frame_of_descriptors_ok(raw: bytes) -> bool:
    """Every descriptor of one 4 KiB frame passes :func:`descriptor_ok`."""
    return all(descriptor_ok(lo, hi) for lo, hi in _DESC.iter_unpack(raw))


def do_set_gdt(vcpu: VCPU, frame_list: int, entries: int) -> int:
    """``set_gdt(frames[], entries)``: install a new GDT of ``entries`` descriptors held in
    the machine frames listed at ``frame_list``; the old GDT's frames are released."""
    if entries > layout.FIRST_RESERVED_GDT_ENTRY:
        return -errno.EINVAL
    domain = vcpu.domain
    ft = domain.frametable
    nr = -(-entries // ENTRIES_PER_FRAME)
    mfns = list(struct.unpack(f"<{nr}I", domain.guest_memory.read(frame_list, 4 * nr)))
    taken: list[int] = []
    for mfn in mfns:
        if ft.get_page_and_type(mfn, PageType.SEG_DESC, domain.domid):
            for done in taken:
                ft.put_page_and_type(done, domain.domid)
            return -errno.EINVAL
        taken.append(mfn)
    for old in vcpu.gdt_frames:
        ft.put_page_and_type(old, domain.domid)
    vcpu.gdt_frames = taken
    vcpu.gdt_entries = entries
    domain.hole.map_gdt(domain.perdomain_l1, taken)
    domain.machine.cpu.flush_tlb()  # the GDT window changed under the CPU
    return 0


def do_update_descriptor(vcpu: VCPU, ma_lo: int, ma_hi: int, desc_lo: int, desc_hi: int) -> int:
    """``update_descriptor(ma, desc)``: write one checked descriptor at machine address
    ``ma`` in a frame of the domain's that is not mapped writable anywhere."""
    domain = vcpu.domain
    ft = domain.frametable
    maddr = (ma_hi << 32) | ma_lo
    mfn = maddr >> 12
    if maddr & 7 or mfn >= len(ft.count) or ft.owner[mfn] != domain.domid:
        return -errno.EINVAL
    if not descriptor_ok(desc_lo, desc_hi):
        return -errno.EINVAL
    if ft.get_page_type(mfn, PageType.SEG_DESC, domain.domid):
        return -errno.EINVAL  # mapped writable somewhere, a page table, or bad descriptors
    domain.machine.memory.write(maddr, _DESC.pack(desc_lo, desc_hi))
    ft.put_page_type(mfn, domain.domid)
    return 0


# ---------------------------------------------------------------- the LDT
def ldt_register(vcpu: VCPU) -> tuple[int, int]:
    """(base, entries) for the CPU's LDT register: the vCPU's LDT window in Xen's hole."""
    return (LDT_VIRT_START, vcpu.ldt_entries) if vcpu.ldt_entries else (0, 0)


def set_ldt(vcpu: VCPU, linear_addr: int, entries: int) -> int:
    """MMUEXT_SET_LDT: the guest's LDT is ``entries`` descriptors at ``linear_addr`` in its
    own address space.  Like the GDT, its frames are checked and become "seg_desc", and
    Xen maps them read-only into its own LDT window, so the guest cannot change them
    behind Xen's back by remapping the address (Xen maps them lazily; xenlab at once)."""
    domain = vcpu.domain
    ft = domain.frametable
    if entries > LDT_PAGES * ENTRIES_PER_FRAME or linear_addr & 0xFFF:
        return -errno.EINVAL
    if linear_addr + 8 * entries > layout.HYPERVISOR_VIRT_START:
        return -errno.EINVAL
    taken: list[int] = []
    for page in range(-(-entries // ENTRIES_PER_FRAME)):
        maddr = domain.machine.cpu.translate(vcpu.cr3, linear_addr + page * layout.PAGE_SIZE)
        if maddr is None or ft.get_page_and_type(maddr >> 12, PageType.SEG_DESC, domain.domid):
            for done in taken:
                ft.put_page_and_type(done, domain.domid)
            return -errno.EINVAL
        taken.append(maddr >> 12)
    for old in vcpu.ldt_frames:
        ft.put_page_and_type(old, domain.domid)
    vcpu.ldt_frames, vcpu.ldt_entries = taken, entries
    domain.hole.map_ldt(domain.perdomain_l1, taken)
    cpu = domain.machine.cpu
    cpu.flush_tlb()  # the LDT window changed under the CPU
    cpu.set_ldt(*ldt_register(vcpu))
    return 0
