"""Memory management: guest memory as the hypervisor sees it, and the page-table hypercalls.

Paper §3.3.3: guests read and own their page tables; every *update* goes through Xen, which
checks it.  Simplified for now: ``update_va_mapping`` is restricted to the domain's own
frames and refuses writable mappings of its page-table frames, but Xen's frame types and
reference counts, ``mmu_update`` and ``mmuext_op`` are not implemented yet; ``vm_assist``
is answered as Xen answers it.

:class:`GuestMemory` is Xen's ``copy_from_guest``/``copy_to_guest``: every pointer a guest
passes is translated through the guest's own page tables, with the guest kernel's rights,
and anything that does not resolve raises :class:`GuestFault`, which the hypercall
dispatcher turns into ``-EFAULT`` — never a hypervisor exception.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from xenlab.abi import errno
from xenlab.abi.hypercalls import (
    UVMF_FLUSHTYPE_MASK,
    UVMF_INVLPG,
    UVMF_NONE,
    UVMF_TLB_FLUSH,
    VMASST_CMD_disable,
    VMASST_CMD_enable,
)
from xenlab.abi.layout import HYPERVISOR_VIRT_START, PAGE_SIZE
from xenlab.hw import x86
from xenlab.hw.memory import FrameAllocator, MachineMemory

if TYPE_CHECKING:
    from xenlab.hw.cpu import CPU
    from xenlab.xen.domain import VCPU

MAX_COPY = 1 << 20  # one copy_from_guest never moves more than this (bounded work per call)
# PAE L1 entry bits a guest may not set: 52-62 are reserved, and NX is reserved while
# EFER.NXE is off (as it is on xenlab's CPU).
L1_RESERVED_BITS = 0x7FF0_0000_0000_0000 | x86.PTE_NX
# Valid VMASST types for a 32-bit PV guest (Xen's VM_ASSIST_VALID): 4gb_segments,
# 4gb_segments_notify, writable_pagetables, pae_extended_cr3.
VM_ASSIST_VALID = 0b1111


class GuestFault(Exception):
    """A guest pointer the hypervisor could not follow (the hypercall returns -EFAULT)."""


class GuestMemory:
    """Reads and writes one domain's virtual memory through its page tables."""

    def __init__(self, memory: MachineMemory, cpu: CPU, vcpu: VCPU) -> None:
        self._memory = memory
        self._cpu = cpu
        self._vcpu = vcpu

    def _pieces(self, va: int, length: int, write: bool):
        """Yield (machine address, offset, size) for each page the range touches."""
        if length < 0 or length > MAX_COPY or va < 0 or va + length > HYPERVISOR_VIRT_START:
            raise GuestFault(f"range {va:#x}+{length:#x} is not guest memory")
        done = 0
        while done < length:
            here = va + done
            size = min(length - done, PAGE_SIZE - (here & 0xFFF))
            maddr = self._cpu.translate(self._vcpu.cr3, here, write=write)
            if maddr is None:
                kind = "writable" if write else "mapped"
                raise GuestFault(f"guest address {here:#x} is not {kind}")
            yield maddr, done, size
            done += size

    def read(self, va: int, length: int) -> bytes:
        out = bytearray(length)
        for maddr, off, size in self._pieces(va, length, write=False):
            out[off : off + size] = self._memory.view[maddr : maddr + size]
        return bytes(out)

    def write(self, va: int, data: bytes, *, may_hold_code: bool = True) -> None:
        """Write guest memory.  Unless told the target holds no code, translated code for the
        range is dropped (the CPU does not see stores that bypass it: field notes, trap 6)."""
        pieces = list(self._pieces(va, len(data), write=True))  # check all before writing any
        for maddr, off, size in pieces:
            self._memory.view[maddr : maddr + size] = data[off : off + size]
        if may_hold_code and data:
            self._cpu.invalidate_code(va, len(data))

    def read_u32(self, va: int) -> int:
        return struct.unpack("<I", self.read(va, 4))[0]


def l1_entry_address(memory: MachineMemory, cr3: int, va: int) -> int | None:
    """Machine address of the L1 entry that maps ``va``, or None if no L1 covers it."""
    e3 = memory.read_u64((cr3 & 0xFFFFFFE0) + 8 * x86.l3_index(va))
    if not e3 & x86.PTE_P:
        return None
    e2 = memory.read_u64(x86.pte_maddr(e3) + 8 * x86.l2_index(va))
    if not e2 & x86.PTE_P or e2 & x86.PTE_PSE:
        return None
    return x86.pte_maddr(e2) + 8 * x86.l1_index(va)


def check_l1_entry(entry: int, domid: int, frames: FrameAllocator, page_tables: set[int]) -> int:
    """Validate a new L1 entry for domain ``domid``: 0 if acceptable, else -errno.

    Simplified (no frame types or reference counts yet): the frame
    must exist and belong to the domain, and a page-table frame may only be mapped
    read-only (paper §3.3.3: "no writable mapping of a page-table frame").
    """
    if not entry & x86.PTE_P:
        return 0  # a not-present entry maps nothing; Xen accepts any such value
    if entry & L1_RESERVED_BITS:
        return -errno.EINVAL
    mfn = x86.pte_maddr(entry) >> 12
    if mfn >= len(frames.owner) or frames.owner[mfn] != domid:
        return -errno.EINVAL
    if entry & x86.PTE_RW and mfn in page_tables:
        return -errno.EINVAL
    return 0


def do_update_va_mapping(vcpu: VCPU, va: int, pte_lo: int, pte_hi: int, flags: int) -> int:
    """``update_va_mapping(va, pte, flags)``: write one L1 entry of the current address
    space, checked, then flush as ``flags`` asks (UVMF_INVLPG / UVMF_TLB_FLUSH)."""
    domain = vcpu.domain
    machine = domain.machine
    if va >= HYPERVISOR_VIRT_START:
        return -errno.EINVAL  # the hole belongs to Xen
    if flags & ~(UVMF_FLUSHTYPE_MASK | 4) or flags & UVMF_FLUSHTYPE_MASK == 3:
        return -errno.EINVAL
    entry = (pte_hi << 32) | pte_lo
    rc = check_l1_entry(entry, domain.domid, machine.frames, domain.page_table_frames)
    if rc:
        return rc
    slot = l1_entry_address(machine.memory, vcpu.cr3, va)
    if slot is None:
        return -errno.EINVAL  # no L1 table maps this address
    machine.memory.write_u64(slot, entry)
    if flags & UVMF_FLUSHTYPE_MASK != UVMF_NONE:
        # Unicorn has no single-page invalidation, so INVLPG flushes the whole TLB: more
        # than the guest asked for, never less.
        assert flags & UVMF_FLUSHTYPE_MASK in (UVMF_INVLPG, UVMF_TLB_FLUSH)
        machine.cpu.flush_tlb()
    return 0


def do_vm_assist(vcpu: VCPU, cmd: int, type_: int) -> int:
    """``vm_assist(cmd, type)``: Xen records the bit and returns 0 for a valid type.

    xenlab records the request as Xen does, but emulates none of the assists: writable
    page tables are not emulated (a guest write to a page table still faults) and 4 GiB
    segments are moot because Unicorn ignores segment limits.
    """
    if type_ >= 32 or not VM_ASSIST_VALID >> type_ & 1:
        return -errno.EINVAL
    if cmd == VMASST_CMD_enable:
        vcpu.domain.vm_assist |= 1 << type_
        return 0
    if cmd == VMASST_CMD_disable:
        vcpu.domain.vm_assist &= ~(1 << type_)
        return 0
    return -errno.ENOSYS
