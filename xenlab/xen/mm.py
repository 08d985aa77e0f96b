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
    DOMID_SELF,
    MMU_MACHPHYS_UPDATE,
    MMU_NORMAL_PT_UPDATE,
    MMU_PT_UPDATE_PRESERVE_AD,
    MMUEXT_CLEAR_PAGE,
    MMUEXT_COPY_PAGE,
    MMUEXT_FLUSH_CACHE,
    MMUEXT_INVLPG_ALL,
    MMUEXT_INVLPG_LOCAL,
    MMUEXT_INVLPG_MULTI,
    MMUEXT_NEW_BASEPTR,
    MMUEXT_PIN_L1_TABLE,
    MMUEXT_PIN_L2_TABLE,
    MMUEXT_PIN_L3_TABLE,
    MMUEXT_SET_LDT,
    MMUEXT_TLB_FLUSH_ALL,
    MMUEXT_TLB_FLUSH_LOCAL,
    MMUEXT_TLB_FLUSH_MULTI,
    MMUEXT_UNPIN_TABLE,
    UVMF_ALL,
    UVMF_FLUSHTYPE_MASK,
    UVMF_NONE,
    VMASST_CMD_disable,
    VMASST_CMD_enable,
)
from xenlab.abi.layout import HYPERVISOR_VIRT_START, PAGE_SIZE
from xenlab.hw import x86
from xenlab.hw.memory import MachineMemory
from xenlab.xen.descriptors import set_ldt
from xenlab.xen.frametable import LEVEL, PageType

if TYPE_CHECKING:
    from xenlab.hw.cpu import CPU
    from xenlab.xen.domain import VCPU, Domain

MAX_COPY = 1 << 20  # one copy_from_guest never moves more than this (bounded work per call)
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


def l1_slot(memory: MachineMemory, cr3: int, va: int) -> tuple[int, int] | None:
    """(L1 frame, index) of the entry that maps ``va`` in the tables at ``cr3``, if any."""
    e3 = memory.read_u64((cr3 & 0xFFFFFFE0) + 8 * x86.l3_index(va))
    if not e3 & x86.PTE_P:
        return None
    e2 = memory.read_u64(x86.pte_maddr(e3) + 8 * x86.l2_index(va))
    if not e2 & x86.PTE_P or e2 & x86.PTE_PSE:
        return None
    return x86.pte_maddr(e2) >> 12, x86.l1_index(va)


def finish_updates(domain: Domain, flush: bool) -> None:
    """Flush the TLB if the guest asked, or if a mapping Xen had validated went away:
    the CPU must never keep using a translation Xen no longer vouches for."""
    if flush or domain.frametable.tlb_flush_needed:
        domain.frametable.tlb_flush_needed = False
        # Unicorn has no single-page invalidation: an INVLPG flushes the whole TLB.
        domain.machine.cpu.flush_tlb()


def do_update_va_mapping(vcpu: VCPU, va: int, pte_lo: int, pte_hi: int, flags: int) -> int:
    """``update_va_mapping(va, pte, flags)``: validate and write the L1 entry that maps
    ``va`` in the current address space, then flush as ``flags`` asks."""
    domain = vcpu.domain
    if va >= HYPERVISOR_VIRT_START:
        return -errno.EINVAL  # the hole belongs to Xen
    if flags & ~(UVMF_FLUSHTYPE_MASK | UVMF_ALL) or flags & UVMF_FLUSHTYPE_MASK == 3:
        return -errno.EINVAL
    where = l1_slot(domain.machine.memory, vcpu.cr3, va)
    if where is None:
        return -errno.EINVAL  # no L1 table maps this address
    rc = domain.frametable.mod_entry(*where, (pte_hi << 32) | pte_lo, domain.domid)
    finish_updates(domain, flags & UVMF_FLUSHTYPE_MASK != UVMF_NONE)
    return rc


# ---------------------------------------------------------------- pinning and base pointers
def pin_table(domain: Domain, mfn: int, type_: PageType) -> int:
    """Pin a page table: validate it as ``type_`` and hold the type until unpinned, so it
    need not be revalidated each time it is used (paper §3.3.3)."""
    ft = domain.frametable
    if mfn >= len(ft.count) or ft.owner[mfn] != domain.domid or ft.pinned[mfn]:
        return -errno.EINVAL
    rc = ft.get_page_and_type(mfn, type_, domain.domid)
    if rc == 0:
        ft.pinned[mfn] = 1
    return rc


def unpin_table(domain: Domain, mfn: int) -> int:
    ft = domain.frametable
    if mfn >= len(ft.count) or ft.owner[mfn] != domain.domid or not ft.pinned[mfn]:
        return -errno.EINVAL
    ft.pinned[mfn] = 0
    ft.put_page_and_type(mfn, domain.domid)  # the table stays valid while still in use
    return 0


def new_baseptr(vcpu: VCPU, mfn: int) -> int:
    """Switch the vCPU to the address space whose L3 is ``mfn`` (MMUEXT_NEW_BASEPTR: the
    guest's "mov to CR3").  The new table is validated first; the old loses a reference."""
    domain = vcpu.domain
    ft = domain.frametable
    rc = ft.get_page_and_type(mfn, PageType.L3, domain.domid)
    if rc:
        return rc
    old, vcpu.baseptr = vcpu.baseptr, mfn
    vcpu.cr3 = x86.xen_pfn_to_cr3(mfn)
    domain.machine.cpu.set_cr3(vcpu.cr3)  # also flushes the TLB
    ft.put_page_and_type(old, domain.domid)
    return 0


# ---------------------------------------------------------------- mmu_update
MAX_BATCH = 1 << 16  # more requests than this in one call is refused as absurd
_MMU_UPDATE = struct.Struct("<QQ")
_MMUEXT_OP = struct.Struct("<III")


def _check_batch(vcpu: VCPU, count: int, foreigndom: int) -> int:
    """0 if a batch of ``count`` updates for ``foreigndom`` may go ahead, else why not."""
    if count > MAX_BATCH:
        return -errno.EINVAL
    if foreigndom in (DOMID_SELF, vcpu.domain.domid):
        return 0
    # Updating another domain's tables is domain 0's privilege (the domain builder's); a
    # control domain arrives with the toolstack issue of the project, so none can yet.
    return -errno.EPERM if not vcpu.domain.privileged else -errno.ESRCH


def _write_done(vcpu: VCPU, done_ptr: int, done: int) -> None:
    if done_ptr:
        vcpu.domain.guest_memory.write(done_ptr, struct.pack("<I", done), may_hold_code=False)


def _batch(vcpu: VCPU, base: int, count: int, layout: struct.Struct):
    """Yield each of ``count`` requests (unpacked with ``layout``) of a guest array, copied
    in page-sized chunks: one page-table walk per chunk, not per request."""
    guest = vcpu.domain.guest_memory
    size = layout.size
    per_chunk = max(1, PAGE_SIZE // size)
    for first in range(0, count, per_chunk):
        n = min(per_chunk, count - first)
        yield from layout.iter_unpack(guest.read(base + first * size, n * size))


def do_mmu_update(vcpu: VCPU, reqs: int, count: int, done_ptr: int, foreigndom: int) -> int:
    """``mmu_update(reqs[], count, done, foreigndom)``: a batch of checked page-table writes
    (paper §3.3.3: XenoLinux batched up to 2048 per call).  Stops at the first failure;
    ``*done`` says how many succeeded."""
    rc = _check_batch(vcpu, count, foreigndom)
    if rc:
        return rc
    domain = vcpu.domain
    ft = domain.frametable
    requests = _batch(vcpu, reqs, count, _MMU_UPDATE)
    done = 0
    try:
        while True:
            # Runs of L1 updates go to the frame table in one call (the common case, and
            # the one XenoLinux batches); anything else takes the general path.
            applied, rc, pending = ft.apply_l1_updates(requests, domain.domid)
            done += applied
            if rc or pending is None:
                break
            rc = _mmu_update_one(domain, *pending)
            if rc:
                break
            done += 1
    except GuestFault:
        rc = -errno.EFAULT  # the request array ran into unmapped memory
    finally:
        finish_updates(domain, False)
    _write_done(vcpu, done_ptr, done)
    return rc


def _mmu_update_one(domain: Domain, ptr: int, val: int) -> int:
    ft = domain.frametable
    cmd = ptr & 3
    maddr = ptr & ~3
    mfn = maddr >> 12
    if mfn >= ft.nr_frames or ft.owner[mfn] != domain.domid:
        return -errno.EINVAL  # not a frame of this domain
    if cmd == MMU_MACHPHYS_UPDATE:
        if val >= domain.max_pages:
            return -errno.EINVAL
        domain.hole.set_m2p(mfn, val)
        return 0
    if cmd not in (MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_PRESERVE_AD):
        return -errno.ENOSYS
    if maddr & 7:
        return -errno.EINVAL  # a PAE entry is 8-byte aligned
    index = (maddr & 0xFFF) >> 3
    if ft.type_count[mfn] and LEVEL[ft.type[mfn]]:  # a page table in use
        preserve = cmd == MMU_PT_UPDATE_PRESERVE_AD
        return ft.mod_entry(mfn, index, val, domain.domid, preserve_ad=preserve)
    # Not a page table in use: an ordinary (checked-writable) store, as in Xen.
    if ft.get_page_type(mfn, PageType.WRITABLE, domain.domid):
        return -errno.EINVAL  # e.g. a descriptor-table frame
    domain.machine.memory.write_u64(maddr, val)
    ft.put_page_type(mfn, domain.domid)
    domain.machine.cpu.flush_translations()  # the store bypassed the CPU: it may be code
    return 0


# ---------------------------------------------------------------- mmuext_op
# Xen is a uniprocessor here, so LOCAL, MULTI and ALL flushes are the same flush;
# FLUSH_CACHE has nothing to do on an emulated CPU with no caches.
FLUSH_OPS = frozenset(
    {
        MMUEXT_TLB_FLUSH_LOCAL,
        MMUEXT_TLB_FLUSH_MULTI,
        MMUEXT_TLB_FLUSH_ALL,
        MMUEXT_INVLPG_LOCAL,
        MMUEXT_INVLPG_MULTI,
        MMUEXT_INVLPG_ALL,
        MMUEXT_FLUSH_CACHE,
    }
)
_PIN_TYPES = {
    MMUEXT_PIN_L1_TABLE: PageType.L1,
    MMUEXT_PIN_L2_TABLE: PageType.L2,
    MMUEXT_PIN_L3_TABLE: PageType.L3,
}


def do_mmuext_op(vcpu: VCPU, ops: int, count: int, done_ptr: int, foreigndom: int) -> int:
    """``mmuext_op(ops[], count, done, foreigndom)``: pin/unpin, new base pointer, TLB
    flushes, page clear/copy.  Stops at the first failure; ``*done`` counts successes."""
    rc = _check_batch(vcpu, count, foreigndom)
    if rc:
        return rc
    domain = vcpu.domain
    done = 0
    flush = False
    try:
        for cmd, arg1, arg2 in _batch(vcpu, ops, count, _MMUEXT_OP):
            if cmd in FLUSH_OPS:
                flush = True
            else:
                rc = _mmuext_one(vcpu, cmd, arg1, arg2)
                if rc:
                    break
            done += 1
    except GuestFault:
        rc = -errno.EFAULT
    finally:
        finish_updates(domain, flush)
    _write_done(vcpu, done_ptr, done)
    return rc


def _mmuext_one(vcpu: VCPU, cmd: int, arg1: int, arg2: int) -> int:
    domain = vcpu.domain
    ft = domain.frametable
    if cmd in _PIN_TYPES:
        return pin_table(domain, arg1, _PIN_TYPES[cmd])
    if cmd == MMUEXT_UNPIN_TABLE:
        return unpin_table(domain, arg1)
    if cmd == MMUEXT_NEW_BASEPTR:
        return new_baseptr(vcpu, arg1)
    if cmd == MMUEXT_SET_LDT:
        return set_ldt(vcpu, arg1, arg2)
    if cmd in (MMUEXT_CLEAR_PAGE, MMUEXT_COPY_PAGE):
        dst = arg1
        if dst >= len(ft.count) or ft.owner[dst] != domain.domid:
            return -errno.EINVAL
        if cmd == MMUEXT_COPY_PAGE and (arg2 >= len(ft.count) or ft.owner[arg2] != domain.domid):
            return -errno.EINVAL
        if ft.get_page_type(dst, PageType.WRITABLE, domain.domid):
            return -errno.EINVAL  # never scribble over a page table or descriptor frame
        memory = domain.machine.memory
        if cmd == MMUEXT_CLEAR_PAGE:
            memory.clear_frame(dst)
        else:
            memory.frame(dst)[:] = memory.frame(arg2)
        ft.put_page_type(dst, domain.domid)
        # The frame changed behind the CPU's back and may hold code it has translated.
        domain.machine.cpu.flush_translations()
        return 0
    return -errno.ENOSYS


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
