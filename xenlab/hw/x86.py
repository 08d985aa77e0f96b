"""Pure x86 encodings: segment descriptors and PAE page-table entries.

No state, no Unicorn: both the hypervisor (to validate what guests ask for) and the machine
layer (to build Xen's own tables) use these helpers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# --- PAE page-table entries (64-bit) --------------------------------------------------------
PTE_P = 1 << 0  # present
PTE_RW = 1 << 1  # writable
PTE_US = 1 << 2  # user (ring 3) may access; rings 0-2 are all "supervisor"
PTE_PWT = 1 << 3
PTE_PCD = 1 << 4
PTE_A = 1 << 5  # accessed
PTE_D = 1 << 6  # dirty
PTE_PSE = 1 << 7  # large page (in an L2 entry)
PTE_G = 1 << 8  # global
PTE_AVAIL = 0x7 << 9  # ignored by the CPU, free for software
PTE_NX = 1 << 63
PTE_ADDR_MASK = 0x000FFFFFFFFFF000  # bits 12-51: the frame's machine address
PTE_FLAGS_MASK = 0xFFF

L1_ENTRIES = L2_ENTRIES = 512
L3_ENTRIES = 4

# Page-fault error code bits (the CPU's, and so Xen's).
PFEC_PRESENT = 1 << 0
PFEC_WRITE = 1 << 1
PFEC_USER = 1 << 2
PFEC_RESERVED = 1 << 3
PFEC_INSN_FETCH = 1 << 4

# Control-register bits.
CR0_PE = 1 << 0
CR0_MP = 1 << 1
CR0_TS = 1 << 3  # task switched: the next FPU instruction raises #NM
CR0_ET = 1 << 4
CR0_NE = 1 << 5
CR0_WP = 1 << 16  # ring 1 honours read-only PTEs only with WP set
CR0_PG = 1 << 31
CR3_PWT = 1 << 3  # page-level write-through of the top table (harmless to set)
CR4_TSD = 1 << 2  # rdtsc only in ring 0: so a hypervisor can emulate the guest's TSC
CR4_PAE = 1 << 5
CR4_OSFXSR = 1 << 9  # the OS saves SSE state (fxsave): SSE instructions work, as under Xen
CR4_OSXMMEXCPT = 1 << 10
EFLAGS_FIXED = 1 << 1  # bit 1 always reads as 1
EFLAGS_IF = 1 << 9
EFLAGS_IOPL = 3 << 12
EFLAGS_TF = 1 << 8
EFLAGS_NT = 1 << 14
EFLAGS_RF = 1 << 16
EFLAGS_VM = 1 << 17


def pte(maddr: int, flags: int) -> int:
    """A PAE entry mapping the frame at machine address ``maddr`` with ``flags``."""
    return (maddr & PTE_ADDR_MASK) | flags


def pte_maddr(entry: int) -> int:
    """The machine address an entry points at."""
    return entry & PTE_ADDR_MASK


def l3_index(va: int) -> int:
    return (va >> 30) & 3


def l2_index(va: int) -> int:
    return (va >> 21) & 0x1FF


def l1_index(va: int) -> int:
    return (va >> 12) & 0x1FF


def xen_pfn_to_cr3(pfn: int) -> int:
    """CR3 for a top-level table in frame ``pfn`` (Xen's xen_pfn_to_cr3 for 32-bit PAE)."""
    return ((pfn << 12) | (pfn >> 20)) & 0xFFFFFFFF


def xen_cr3_to_pfn(cr3: int) -> int:
    return ((cr3 >> 12) | (cr3 << 20)) & 0xFFFFFFFF


# --- Segment descriptors -------------------------------------------------------------------
DESC_ACCESSED = 0x01  # preset, so the CPU never writes to a read-only GDT to set it
DESC_TYPE_CODE_RX = 0x0A  # execute/read
DESC_TYPE_DATA_RW = 0x02  # read/write
DESC_S = 0x10  # code or data (not a system descriptor)
DESC_P = 0x80
DESC_TYPE_TRAP_GATE32 = 0x0F  # a gate that leaves EFLAGS.IF alone
DESC_TYPE_TSS32 = 0x09  # an available 32-bit TSS
TSS32_SIZE = 104
TSS32_ESP1, TSS32_SS1 = 12, 16  # the ring-1 stack a ring-3 -> ring-1 gate switches to


@dataclass(frozen=True)
class SegmentDescriptor:
    """The fields of an 8-byte GDT/LDT descriptor that Xen's validation looks at."""

    base: int
    limit: int  # in bytes, after granularity scaling, minus one
    type: int  # 4-bit type field
    s: bool  # code/data (True) or system (gate, TSS, LDT: False)
    dpl: int
    present: bool
    db: bool  # 32-bit default operand size
    granularity: bool


def encode_descriptor(base: int, limit: int, *, type_: int, dpl: int, s: bool = True) -> bytes:
    """Encode a present, 32-bit descriptor; ``limit`` is the last valid byte offset.

    Limits above 1 MiB use 4 KiB granularity, as real descriptors must.
    """
    gran = limit > 0xFFFFF
    raw_limit = limit >> 12 if gran else limit
    access = DESC_P | (dpl << 5) | (DESC_S if s else 0) | (type_ & 0xF)
    flags = 0x4 | (0x8 if gran else 0)  # D/B=1 (32-bit), G as computed
    lo = (raw_limit & 0xFFFF) | ((base & 0xFFFF) << 16)
    hi = (
        ((base >> 16) & 0xFF)
        | (access << 8)
        | (((raw_limit >> 16) & 0xF) << 16)
        | (flags << 20)
        | (base & 0xFF000000)
    )
    return struct.pack("<II", lo, hi)


def decode_descriptor(raw: bytes) -> SegmentDescriptor:
    lo, hi = struct.unpack("<II", raw)
    raw_limit = (lo & 0xFFFF) | (hi & 0xF0000)
    gran = bool(hi & (1 << 23))
    limit = (raw_limit << 12) | 0xFFF if gran else raw_limit
    return SegmentDescriptor(
        base=(lo >> 16) | ((hi & 0xFF) << 16) | (hi & 0xFF000000),
        limit=limit,
        type=(hi >> 8) & 0xF,
        s=bool(hi & (1 << 12)),
        dpl=(hi >> 13) & 3,
        present=bool(hi & (1 << 15)),
        db=bool(hi & (1 << 22)),
        granularity=gran,
    )


def selector(index: int, rpl: int) -> int:
    return (index << 3) | rpl


def selector_index(sel: int) -> int:
    return sel >> 3


def selector_rpl(sel: int) -> int:
    return sel & 3


def encode_gate(offset: int, selector: int, *, type_: int, dpl: int) -> bytes:
    """A 32-bit IDT gate descriptor: handler ``selector:offset``, raisable by ``int n``
    from rings <= ``dpl``."""
    access = DESC_P | (dpl << 5) | (type_ & 0xF)
    return struct.pack("<HHBBH", offset & 0xFFFF, selector, 0, access, offset >> 16)
