"""Start of day (Xen's ``__start_xen``): lay out the hypervisor hole and bring the CPU up.

The top of every address space, from ``HYPERVISOR_VIRT_START`` (0xF5800000 with PAE), is
Xen's (paper §2.1.1: entering and leaving Xen then needs no TLB flush).  The guest-visible
part is the read-only machine-to-physical table at ``MACH2PHYS_VIRT_START``; the rest is
xenlab's own layout, not ABI:

==============  ===========================================================================
0xF5800000      M2P, read-only, 4 bytes per machine frame (ABI)
0xFC000000      per-domain area: the GDT window, 16 pages (the 2003 hole started here),
                then the LDT window, 16 pages, then the IDT and the TSS (one page each,
                read-only: the direct system-call gate, see ``xen/traps.py``)
0xFF000000      hypervisor text: the bring-up trampoline (only in the idle page table)
==============  ===========================================================================

In the 32-bit PAE layout the whole hole lies in the 4th gigabyte, so each guest's top L2
(the one L3 slot 3 points at) carries Xen's entries in slots 428-511; the domain builder
copies them in from :meth:`Hole.xen_l2_entries` and the guest may never change them.

Unicorn enforces no segment limits (field notes, item 8), so Xen-2003's protection of its
area by segment limits cannot be reproduced: instead no hypervisor-private frame is ever
mapped in a guest page table except read-only (the M2P, the GDT).
"""

from __future__ import annotations

from xenlab.abi import layout
from xenlab.hw import x86
from xenlab.hw.cpu import CPU, BringUp, RingSelectors
from xenlab.hw.memory import OWNER_XEN, FrameAllocator, MachineMemory

PERDOMAIN_VIRT_START = 0xFC000000
GDT_VIRT_START = PERDOMAIN_VIRT_START
LDT_VIRT_START = GDT_VIRT_START + layout.GDT_PAGES * layout.PAGE_SIZE  # after the GDT window
LDT_PAGES = 16  # 8192 descriptors, the most an LDT can hold
IDT_PAGE = layout.GDT_PAGES + LDT_PAGES  # per-domain page numbers of the IDT and the TSS
TSS_PAGE = IDT_PAGE + 1
IDT_VIRT_START = PERDOMAIN_VIRT_START + IDT_PAGE * layout.PAGE_SIZE
TSS_VIRT_START = PERDOMAIN_VIRT_START + TSS_PAGE * layout.PAGE_SIZE
TSS_SELECTOR = (layout.FIRST_RESERVED_GDT_ENTRY + 8) << 3  # Xen's TSS_ENTRY: 0xe040
XEN_TEXT_VIRT_START = 0xFF000000
XEN_STACK_TOP = XEN_TEXT_VIRT_START + 2 * layout.PAGE_SIZE
FIRST_XEN_L2_SLOT = x86.l2_index(layout.HYPERVISOR_VIRT_START)  # 428
M2P_INVALID = 0xFFFFFFFF  # the M2P entry of a frame no domain owns

# Xen's hypervisor-owned L2/L1 entries: present, writable at the L2 level so the L1 decides.
TRAMPOLINE_CODE = b"\xcf\x90\x90\xcd\x82\xeb\xfe"
TRAMPOLINE_MARKER_INSNS = 3
_XEN_L2_FLAGS = x86.PTE_P | x86.PTE_RW | x86.PTE_A | x86.PTE_D
_RO = x86.PTE_P | x86.PTE_A  # read-only, supervisor (ring 1 can read, ring 3 cannot)


def _flat_gdt_frame() -> bytes:
    """Xen's reserved GDT page (entries 7168-7679): flat ring-0/1/3 code and data segments.

    Guest segments end at ``GUEST_SEGMENT_MAX_ADDR`` (over the read-only M2P, no further),
    as in Xen; Unicorn ignores the limit, but the descriptor states the rule.  The accessed
    bit is preset: the GDT is mapped read-only and the CPU must never need to write it.
    """
    page = bytearray(layout.PAGE_SIZE)
    guest_limit = layout.GUEST_SEGMENT_MAX_ADDR - 1
    code = x86.DESC_TYPE_CODE_RX | x86.DESC_ACCESSED
    data = x86.DESC_TYPE_DATA_RW | x86.DESC_ACCESSED
    entries = {
        layout.FLAT_RING0_CS: x86.encode_descriptor(0, 0xFFFFFFFF, type_=code, dpl=0),
        layout.FLAT_RING0_DS: x86.encode_descriptor(0, 0xFFFFFFFF, type_=data, dpl=0),
        layout.FLAT_RING1_CS: x86.encode_descriptor(0, guest_limit, type_=code, dpl=1),
        layout.FLAT_RING1_DS: x86.encode_descriptor(0, guest_limit, type_=data, dpl=1),
        layout.FLAT_RING3_CS: x86.encode_descriptor(0, guest_limit, type_=code, dpl=3),
        layout.FLAT_RING3_DS: x86.encode_descriptor(0, guest_limit, type_=data, dpl=3),
    }
    # The TSS (TR is loaded by register write, not ltr; see hw/cpu.py).
    entries[TSS_SELECTOR] = x86.encode_descriptor(
        TSS_VIRT_START, x86.TSS32_SIZE - 1, type_=x86.DESC_TYPE_TSS32, dpl=0, s=False
    )
    for sel, desc in entries.items():
        offset = (x86.selector_index(sel) - layout.FIRST_RESERVED_GDT_ENTRY) * 8
        page[offset : offset + 8] = desc
    return bytes(page)


class Hole:
    """The hypervisor's frames and mappings shared by every address space."""

    def __init__(self, memory: MachineMemory, frames: FrameAllocator) -> None:
        self.memory = memory
        self.frames = frames
        (self.zero_frame,) = self._alloc(1)  # stands in for GDT pages a guest has not set
        (self.gdt_xen_frame,) = self._alloc(1)
        memory.write(self.gdt_xen_frame << 12, _flat_gdt_frame())
        # One IDT and one TSS for the machine (one CPU): only the direct system-call gate
        # uses them, and the hypervisor rewrites its entry for whichever vCPU runs.
        self.idt_frame, self.tss_frame = self._alloc(2)
        # The M2P: 4 bytes per machine frame, every entry "invalid" until a domain owns it.
        m2p_bytes = memory.nr_frames * 4
        self.m2p_frames = self._alloc(-(-m2p_bytes // layout.PAGE_SIZE))
        for mfn in self.m2p_frames:
            memory.frame(mfn)[:] = M2P_INVALID.to_bytes(4, "little") * (layout.PAGE_SIZE // 4)
        self.m2p_l1s = self._alloc(-(-len(self.m2p_frames) // x86.L1_ENTRIES))
        for i, mfn in enumerate(self.m2p_frames):
            l1 = self.m2p_l1s[i // x86.L1_ENTRIES]
            memory.write_u64((l1 << 12) + 8 * (i % x86.L1_ENTRIES), x86.pte(mfn << 12, _RO))
        if len(self.m2p_l1s) > x86.l2_index(layout.MACH2PHYS_VIRT_END) - FIRST_XEN_L2_SLOT:
            raise ValueError("machine memory too large for the 16 MiB M2P window")

    def _alloc(self, count: int) -> list[int]:
        mfns = self.frames.alloc(OWNER_XEN, count)
        for mfn in mfns:
            self.memory.clear_frame(mfn)
        return mfns

    # -- the M2P ------------------------------------------------------------------
    def set_m2p(self, mfn: int, pfn: int) -> None:
        self.memory.write_u32((self.m2p_frames[mfn >> 10] << 12) + 4 * (mfn & 0x3FF), pfn)

    def get_m2p(self, mfn: int) -> int:
        return self.memory.read_u32((self.m2p_frames[mfn >> 10] << 12) + 4 * (mfn & 0x3FF))

    # -- per-domain tables --------------------------------------------------------
    def new_perdomain_l1(self) -> int:
        """A domain's per-domain L1: its GDT window (guest pages + Xen's reserved page)."""
        (l1,) = self._alloc(1)
        for page in range(layout.GDT_PAGES):
            frame = (
                self.gdt_xen_frame if page == layout.FIRST_RESERVED_GDT_PAGE else self.zero_frame
            )
            self.memory.write_u64((l1 << 12) + 8 * page, x86.pte(frame << 12, _RO))
        for page, frame in ((IDT_PAGE, self.idt_frame), (TSS_PAGE, self.tss_frame)):
            self.memory.write_u64((l1 << 12) + 8 * page, x86.pte(frame << 12, _RO))
        return l1

    def map_gdt(self, perdomain_l1: int, frames: list[int]) -> None:
        """Point a domain's GDT window at its own GDT frames (read-only), leaving Xen's
        reserved page in place; unused guest pages show the zero frame."""
        for page in range(layout.FIRST_RESERVED_GDT_PAGE):
            frame = frames[page] if page < len(frames) else self.zero_frame
            self.memory.write_u64((perdomain_l1 << 12) + 8 * page, x86.pte(frame << 12, _RO))

    def map_ldt(self, perdomain_l1: int, frames: list[int]) -> None:
        """Point a domain's LDT window (16 pages after the GDT window) at its LDT frames,
        read-only; the rest of the window maps nothing."""
        for page in range(LDT_PAGES):
            slot = (perdomain_l1 << 12) + 8 * (layout.GDT_PAGES + page)
            entry = x86.pte(frames[page] << 12, _RO) if page < len(frames) else 0
            self.memory.write_u64(slot, entry)

    def xen_l2_entries(self, perdomain_l1: int) -> dict[int, int]:
        """Xen's slots of a top-level L2: slot index -> entry (copied into each guest's)."""
        entries = {
            x86.l2_index(layout.MACH2PHYS_VIRT_START) + i: x86.pte(l1 << 12, _XEN_L2_FLAGS)
            for i, l1 in enumerate(self.m2p_l1s)
        }
        entries[x86.l2_index(PERDOMAIN_VIRT_START)] = x86.pte(perdomain_l1 << 12, _XEN_L2_FLAGS)
        return entries

    def release_perdomain_l1(self, l1: int) -> None:
        self.memory.clear_frame(l1)
        self.frames.free(l1)

    # -- bring-up -----------------------------------------------------------------
    def build_idle_tables(self) -> int:
        """The idle address space (Xen's idle_pg_table): only the hole, plus the bring-up
        trampoline and a ring-0 stack.  Returns its CR3."""
        l3, l2, text_l1, tramp, stack = self._alloc(5)
        perdomain = self.new_perdomain_l1()
        mem = self.memory
        mem.write_u64(l3 << 12 | 8 * 3, x86.pte(l2 << 12, x86.PTE_P))
        for slot, entry in self.xen_l2_entries(perdomain).items():
            mem.write_u64((l2 << 12) + 8 * slot, entry)
        # The trampoline is user-accessible so the bring-up iretd can land in ring 3 on it.
        mem.write_u64(
            (l2 << 12) + 8 * x86.l2_index(XEN_TEXT_VIRT_START),
            x86.pte(text_l1 << 12, _XEN_L2_FLAGS | x86.PTE_US),
        )
        mem.write_u64(text_l1 << 12, x86.pte(tramp << 12, x86.PTE_P | x86.PTE_US | x86.PTE_A))
        mem.write_u64(
            (text_l1 << 12) + 8,
            x86.pte(stack << 12, x86.PTE_P | x86.PTE_RW | x86.PTE_A | x86.PTE_D),
        )
        # iretd; then "nop; nop; int $0x82": the rings' first fetch lands here, and the
        # instruction-counter calibration runs it (3 instructions, then a trap).
        mem.write(tramp << 12, TRAMPOLINE_CODE)
        return l3 << 12


def bring_up_cpu(cpu: CPU, hole: Hole) -> None:
    """Bring the CPU into PAE protected mode and capture its ring templates."""
    cr3 = hole.build_idle_tables()
    cpu.bring_up(
        BringUp(
            cr3=cr3,
            gdt_va=GDT_VIRT_START,
            gdt_limit=layout.GDT_PAGES * layout.PAGE_SIZE - 1,
            trampoline_va=XEN_TEXT_VIRT_START,
            stack_top_va=XEN_STACK_TOP,
            idt_va=IDT_VIRT_START,
            tss_va=TSS_VIRT_START,
            tss_selector=TSS_SELECTOR,
            rings={
                0: RingSelectors(layout.FLAT_RING0_CS, layout.FLAT_RING0_DS),
                1: RingSelectors(layout.FLAT_RING1_CS, layout.FLAT_RING1_DS),
                3: RingSelectors(layout.FLAT_RING3_CS, layout.FLAT_RING3_DS),
            },
        )
    )
