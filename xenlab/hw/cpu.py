"""The emulated x86-32 CPU: Unicorn in protected mode with PAE paging.

The CPU runs guest code in time slices (``run``) until the slice's instruction budget is
spent or something traps.  Every trap — a hypercall's ``int $0x82``, a guest's ``int $0x80``,
a #GP from a privileged instruction, a #PF — reaches one Python callback, ``trap_handler``,
exactly as every trap on a real Xen machine lands in the hypervisor first (paper §2.1.2).

Unicorn workarounds (see ``shared/reference/unicorn-field-notes.md``) all live here:

* **Rings** (trap 1): ``reg_write`` never changes the privilege level, so at bring-up the CPU
  executes a real ``iretd`` from ring 0 into rings 1 and 3 and saves a *template context* for
  each; ``enter_ring`` copies that ring's CS/SS descriptor caches into the live state and sets
  the CPL bits of QEMU's ``hflags`` (both calibrated at bring-up), leaving the rest alone.
* **Escalating faults** (trap 2): every fault resets QEMU's hidden ``old_exception``.
* **Run/stop rules** (traps 3, 6): ``until`` is always 0 and ``count`` always > 0; hooks are
  installed before anything is translated.
* **No page-fault error code** (trap 4): read from the hidden ``error_code``.
* **Stale TLB / code** (traps 5, 6): ``flush_tlb``, ``invalidate_code`` and
  ``invalidate_frames`` (by machine address, through QEMU's ``tb_invalidate_phys_range``)
  are explicit and the hypervisor calls them after every change the CPU cannot see.
* **Slow register access** (trap 7): general registers and EIP are read and written in the
  live CPU state through ctypes (~0.1 µs instead of ~2 µs).
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from unicorn import (
    UC_ARCH_X86,
    UC_HOOK_INSN_INVALID,
    UC_HOOK_INTR,
    UC_MODE_32,
    UC_PROT_ALL,
    Uc,
    UcError,
)
from unicorn.unicorn_const import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH
from unicorn.unicorn_py3.unicorn import uclib
from unicorn.x86_const import (
    UC_X86_REG_CR0,
    UC_X86_REG_CR2,
    UC_X86_REG_CR3,
    UC_X86_REG_CR4,
    UC_X86_REG_CS,
    UC_X86_REG_DS,
    UC_X86_REG_EFLAGS,
    UC_X86_REG_ES,
    UC_X86_REG_FS,
    UC_X86_REG_GDTR,
    UC_X86_REG_GS,
    UC_X86_REG_IDTR,
    UC_X86_REG_LDTR,
    UC_X86_REG_SS,
    UC_X86_REG_TR,
)

from xenlab.hw import x86
from xenlab.hw.liveenv import CalibrationError, InstructionCounter, LiveEnv
from xenlab.hw.memory import MachineMemory

_SEGMENT_CACHE_SIZE = 24  # QEMU's SegmentCache: u32 selector, u64 base, u32 limit, u32 flags
# Indices into LiveEnv.regs (QEMU's R_EAX ... R_EDI order).
EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI = range(8)
REG_NAMES = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")

# QEMU's tb_invalidate_phys_range(uc, start, end), exported by Unicorn's library: drops the
# translated blocks of a RAM range (what ctl_remove_cache does, but by machine address).
_tb_invalidate_phys_range = uclib.tb_invalidate_phys_range_x86_64
_tb_invalidate_phys_range.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64]
_tb_invalidate_phys_range.restype = None

# Unicorn's hook callback signatures (uc.h): uc_cb_hookintr_t and uc_cb_hookinsn_invalid_t.
_INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)
_INSN_INVALID_CB = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_void_p)
TRAP_INVALID_OP = 6


@dataclass(frozen=True)
class RingSelectors:
    """The code and data selectors the CPU uses in one ring."""

    cs: int
    ds: int


@dataclass(frozen=True)
class BringUp:
    """What the hypervisor prepares in memory so the CPU can reach rings 1 and 3.

    ``cr3`` must map the GDT at ``gdt_va`` (read-only is fine: every descriptor has its
    accessed bit preset), the one-page ``trampoline_va`` (user-accessible, executable) and a
    writable ring-0 stack page below ``stack_top_va``.
    """

    cr3: int
    gdt_va: int
    gdt_limit: int
    trampoline_va: int
    stack_top_va: int
    rings: dict[int, RingSelectors]
    trap_rdtsc: bool = True  # CR4.TSD: rdtsc outside ring 0 raises #GP
    # The direct trap gate (``arm_direct_gate``): a page for the IDT and one for the TSS,
    # mapped read-only in every address space, and a busy-TSS descriptor in the GDT.
    idt_va: int = 0
    tss_va: int = 0
    tss_selector: int = 0


class EmulationError(RuntimeError):
    """Unicorn refused to go on (e.g. an access outside machine memory)."""


class CPU:
    """One virtual CPU of the machine (xenlab emulates a uniprocessor)."""

    def __init__(self, memory: MachineMemory) -> None:
        self.memory = memory
        self.uc = uc = Uc(UC_ARCH_X86, UC_MODE_32)
        self._handle = uc._uch
        uc.mem_map_ptr(0, memory.size, UC_PROT_ALL, memory.address())
        # The owner's trap callback: trap_handler(vector, is_software_int).
        self.trap_handler: Callable[[int, bool], None] = self._unexpected_trap
        self._hook_error: BaseException | None = None
        self.env = LiveEnv(uc)
        self.regs = self.env.regs
        self._eip = self.env.eip
        self._old_exception = self.env.old_exception
        self._is_int = self.env.is_int
        self._reg32 = ctypes.c_uint32(0)
        self._reg32_ref = ctypes.byref(self._reg32)
        self._templates: dict[int, object] = {}
        self._ring_cs_ss: dict[int, bytes] = {}  # each ring's CS and SS descriptor caches
        self._cs_ss_cache = 0  # address of the live CS/SS caches (QEMU's segs[R_CS..R_SS])
        self._cpl_flags: ctypes.c_uint32 | None = None  # QEMU's hflags (CPL in bits 0-1)
        self._cr3_cell: ctypes.c_uint64 | None = None
        self._cs_selector: ctypes.c_uint32 | None = None
        self._ss_selector: ctypes.c_uint32 | None = None
        self._data_selectors: list[tuple[ctypes.c_uint32, int]] = []
        self.counter: InstructionCounter | None = None
        # The fast path: `int $vector` from `ring` goes straight to handler() (a hypercall
        # needs nothing else).  Vector 0x100 never occurs, so it is off until set.
        self._fast: list = [0x100, -1, lambda: None]
        self._cpl_cell: list = [None]
        # The direct gate: [vector, armed, deliveries]; vector 0x100 never occurs.
        self._direct: list = [0x100, False, 0]
        self._idt_maddr = self._tss_maddr = 0
        self._stale: set[int] = set()  # frames whose translated code must be dropped
        # Hooks go in before anything is translated (hooks added later miss cached code).
        # Unicorn reports #UD through its invalid-instruction hook, not as an interrupt.
        self._intr_cb = _INTR_CB(self._make_interrupt_callback())
        self._insn_invalid_cb = _INSN_INVALID_CB(self._on_invalid_instruction)
        for kind, callback in (
            (UC_HOOK_INTR, self._intr_cb),
            (UC_HOOK_INSN_INVALID, self._insn_invalid_cb),
        ):
            hook = ctypes.c_size_t()
            err = uclib.uc_hook_add(
                self._handle,
                ctypes.byref(hook),
                kind,
                callback,
                None,
                ctypes.c_uint64(1),
                ctypes.c_uint64(0),
            )
            if err:
                raise UcError(err)

    # ----------------------------------------------------------------- bring-up
    def bring_up(self, spec: BringUp) -> None:
        """Enter protected mode with PAE paging and capture the ring-1/ring-3 templates."""
        uc = self.uc
        ring0 = spec.rings[0]
        uc.reg_write(UC_X86_REG_GDTR, (0, spec.gdt_va, spec.gdt_limit, 0))
        cr4 = x86.CR4_PAE | x86.CR4_OSFXSR | x86.CR4_OSXMMEXCPT
        uc.reg_write(UC_X86_REG_CR4, cr4 | (x86.CR4_TSD if spec.trap_rdtsc else 0))
        uc.reg_write(UC_X86_REG_CR3, spec.cr3)
        uc.reg_write(UC_X86_REG_CR0, x86.CR0_PE | x86.CR0_ET | x86.CR0_NE | x86.CR0_WP | x86.CR0_PG)
        if spec.idt_va:
            self._load_idt_and_tss(spec)
        uc.reg_write(UC_X86_REG_CS, ring0.cs)
        for reg in (UC_X86_REG_SS, UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_FS, UC_X86_REG_GS):
            uc.reg_write(reg, ring0.ds)
        self._old_exception.value = -1
        ring0_ctx = uc.context_save()
        iret_frame = spec.stack_top_va - 20
        target = spec.trampoline_va + 1  # the byte after the iretd: mapped and executable
        for ring in (1, 3):
            sel = spec.rings[ring]
            uc.context_restore(ring0_ctx)
            frame = struct.pack("<5I", target, sel.cs, x86.EFLAGS_FIXED | x86.EFLAGS_IF, 0, sel.ds)
            self._write_virtual_via_cr3(spec.cr3, iret_frame, frame)
            self.regs[ESP] = iret_frame
            # A real iretd is the only way into an outer ring (reg_write cannot change CPL).
            uc.emu_start(spec.trampoline_va, 0, count=1)
            if uc.reg_read(UC_X86_REG_SS) != sel.ds or uc.reg_read(UC_X86_REG_CS) != sel.cs:
                raise CalibrationError(f"iretd to ring {ring} did not load its selectors")
            for reg in (UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_FS, UC_X86_REG_GS):
                uc.reg_write(reg, sel.ds)  # iret outward nulls data segments
            self._old_exception.value = -1
            self._templates[ring] = uc.context_save()
        self._templates[0] = ring0_ctx
        uc.ctl_flush_tb()
        self._calibrate_cs_selector(spec)
        self._calibrate_cr3(spec)
        self._calibrate_counter(spec)
        uc.context_restore(self._templates[1])

    def _load_idt_and_tss(self, spec: BringUp) -> None:
        """Point IDTR and TR at the hypervisor's IDT and TSS (in every template).

        TR is loaded by register write with the type QEMU caches for a loaded TSS: an
        *available* 32-bit TSS (9).  (``ltr`` would also write the busy bit into the
        read-only GDT; and QEMU's ``get_ss_esp_from_tss`` aborts the whole process on any
        other type in TR.)
        """
        idt = self.translate(spec.cr3, spec.idt_va)
        tss = self.translate(spec.cr3, spec.tss_va)
        if idt is None or tss is None:
            raise CalibrationError("the IDT and TSS pages must be mapped at bring-up")
        self._idt_maddr, self._tss_maddr = idt, tss
        self.uc.reg_write(UC_X86_REG_IDTR, (0, spec.idt_va, 256 * 8 - 1, 0))
        flags = (x86.DESC_P | x86.DESC_TYPE_TSS32) << 8  # QEMU keeps descriptor bits 32-63
        self.uc.reg_write(
            UC_X86_REG_TR, (spec.tss_selector, spec.tss_va, x86.TSS32_SIZE - 1, flags)
        )
        if self.uc.reg_read(UC_X86_REG_TR)[1:] != (spec.tss_va, x86.TSS32_SIZE - 1, flags):
            raise CalibrationError("TR did not take the hypervisor's TSS")

    def _write_virtual_via_cr3(self, cr3: int, va: int, data: bytes) -> None:
        maddr = self.translate(cr3, va, write=True)
        if maddr is None:
            raise CalibrationError(f"bring-up address {va:#x} is not mapped writable")
        self.memory.write(maddr, data)

    def _calibrate_cs_selector(self, spec: BringUp) -> None:
        """Find CS's selector in the live state, so ``cpl`` costs one ctypes read."""
        blobs = {}
        for ring in (1, 3):
            self.uc.context_restore(self._templates[ring])
            blobs[ring] = ctypes.string_at(self.env.env, 0x400)
        hits = [
            off
            for off in range(0, 0x400, 4)
            if struct.unpack_from("<I", blobs[1], off)[0] == spec.rings[1].cs
            and struct.unpack_from("<I", blobs[3], off)[0] == spec.rings[3].cs
        ]
        if len(hits) != 1:
            raise CalibrationError(
                f"CS selector not found in the live CPU state ({len(hits)} hits)"
            )
        self._cs_selector = ctypes.c_uint32.from_address(self.env.env + hits[0])
        self._cpl_cell[0] = self._cs_selector
        # CS and SS caches are adjacent (segs[1], segs[2]): a ring change copies both.
        self._cs_ss_cache = self.env.env + hits[0]
        for ring in (0, 1, 3):
            self.uc.context_restore(self._templates[ring])
            self._ring_cs_ss[ring] = ctypes.string_at(self._cs_ss_cache, 2 * _SEGMENT_CACHE_SIZE)
        # hflags sits before the segment caches; it is the one word whose low two bits
        # (HF_CPL) are the ring and that differs only there between the ring-1 and ring-3
        # templates.
        words = {ring: struct.unpack_from(f"<{hits[0] // 4}I", blobs[ring]) for ring in (1, 3)}
        flags = [
            4 * i
            for i, (w1, w3) in enumerate(zip(words[1], words[3], strict=True))
            if w1 & 3 == 1 and w1 ^ w3 == 2
        ]
        if len(flags) != 1:
            raise CalibrationError(f"hflags not found in the live CPU state ({len(flags)} hits)")
        self._cpl_flags = ctypes.c_uint32.from_address(self.env.env + flags[0])
        # QEMU's segs[] is ES CS SS DS FS GS, 24 bytes apart (selector, base, limit, flags):
        # the data selectors must sit where that layout says, holding the template's value.
        data = {}
        for reg, slot in (("es", 0), ("ss", 2), ("ds", 3), ("fs", 4), ("gs", 5)):
            off = hits[0] + (slot - 1) * _SEGMENT_CACHE_SIZE
            for ring in (1, 3):
                if struct.unpack_from("<I", blobs[ring], off)[0] != spec.rings[ring].ds:
                    raise CalibrationError(
                        f"{reg.upper()} selector not where QEMU's layout puts it"
                    )
            data[reg] = ctypes.c_uint32.from_address(self.env.env + off)
        self._ss_selector = data["ss"]
        self._data_selectors = [
            (data["ds"], UC_X86_REG_DS),
            (data["es"], UC_X86_REG_ES),
            (data["fs"], UC_X86_REG_FS),
            (data["gs"], UC_X86_REG_GS),
        ]

    def _calibrate_cr3(self, spec: BringUp) -> None:
        """Find CR3 in the live state, so a ring change can tell without a slow read
        whether it stays in the same address space."""
        offsets = None
        for value in (spec.cr3, spec.cr3 | x86.CR3_PWT):
            self.uc.reg_write(UC_X86_REG_CR3, value)
            blob = ctypes.string_at(self.env.env, 0x1000)
            found = {
                o for o in range(0, 0x1000, 8) if struct.unpack_from("<Q", blob, o)[0] == value
            }
            offsets = found if offsets is None else offsets & found
        self.uc.reg_write(UC_X86_REG_CR3, spec.cr3)
        if not offsets or len(offsets) != 1:
            raise CalibrationError("CR3 not found in the live CPU state")
        self._cr3_cell = ctypes.c_uint64.from_address(self.env.env + offsets.pop())

    def _calibrate_counter(self, spec: BringUp) -> None:
        def run_marker(count: int) -> None:
            self.uc.context_restore(self._templates[1])
            self.uc.emu_start(spec.trampoline_va + 1, 0, count=count)

        saved = self.trap_handler
        self.trap_handler = lambda vector, soft: self.stop()
        try:
            self.counter = InstructionCounter(self.uc, run_marker)
        finally:
            self.trap_handler = saved

    # ----------------------------------------------------------------- registers
    def reg(self, index: int) -> int:
        return self.regs[index] & 0xFFFFFFFF

    def set_reg(self, index: int, value: int) -> None:
        self.regs[index] = value & 0xFFFFFFFF

    @property
    def eip(self) -> int:
        return self._eip.value & 0xFFFFFFFF

    @eip.setter
    def eip(self, value: int) -> None:
        self._eip.value = value & 0xFFFFFFFF

    @property
    def eflags(self) -> int:
        # EFLAGS is kept lazily by QEMU (condition codes apart): let Unicorn compute it.
        uclib.uc_reg_read(self._handle, UC_X86_REG_EFLAGS, self._reg32_ref)
        return self._reg32.value

    @eflags.setter
    def eflags(self, value: int) -> None:
        self._reg32.value = value & 0xFFFFFFFF
        uclib.uc_reg_write(self._handle, UC_X86_REG_EFLAGS, self._reg32_ref)

    @property
    def cpl(self) -> int:
        """Current privilege level (the RPL of CS, which equals CPL for flat code segments)."""
        assert self._cs_selector is not None
        return self._cs_selector.value & 3

    @property
    def cs(self) -> int:
        assert self._cs_selector is not None
        return self._cs_selector.value & 0xFFFF

    @property
    def ss(self) -> int:
        assert self._ss_selector is not None
        return self._ss_selector.value & 0xFFFF

    def read_control(self) -> dict[str, int]:
        """CR0, CR2, CR3, CR4 and the segment selectors (slow path: dumps and tests)."""
        uc = self.uc
        names = {
            "cr0": UC_X86_REG_CR0,
            "cr2": UC_X86_REG_CR2,
            "cr3": UC_X86_REG_CR3,
            "cr4": UC_X86_REG_CR4,
            "cs": UC_X86_REG_CS,
            "ss": UC_X86_REG_SS,
            "ds": UC_X86_REG_DS,
            "es": UC_X86_REG_ES,
            "fs": UC_X86_REG_FS,
            "gs": UC_X86_REG_GS,
        }
        return {name: uc.reg_read(reg) for name, reg in names.items()}

    @property
    def cr2(self) -> int:
        return self.uc.reg_read(UC_X86_REG_CR2)

    @property
    def cr3(self) -> int:
        return self.uc.reg_read(UC_X86_REG_CR3)

    def set_task_switched(self, flag: bool) -> None:
        """CR0.TS: set, the next x87/SSE instruction raises #NM (lazy FPU switching)."""
        cr0 = self.uc.reg_read(UC_X86_REG_CR0)
        self.uc.reg_write(UC_X86_REG_CR0, cr0 | x86.CR0_TS if flag else cr0 & ~x86.CR0_TS)

    @property
    def task_switched(self) -> bool:
        return bool(self.uc.reg_read(UC_X86_REG_CR0) & x86.CR0_TS)

    def set_ldt(self, base: int, entries: int) -> None:
        """Load the LDT register: ``entries`` descriptors at linear address ``base`` (0
        entries: no LDT).  Like CR3, it is part of the context a vCPU saves."""
        if entries:
            # The hidden flags of an LDT system segment: present, type 2.
            self.uc.reg_write(UC_X86_REG_LDTR, (0, base, entries * 8 - 1, 0x8200))
        else:
            self.uc.reg_write(UC_X86_REG_LDTR, (0, 0, 0, 0))

    def set_cr3(self, cr3: int) -> None:
        """Switch address space; Unicorn flushes its TLB on a CR3 write (field notes, trap 5)."""
        self._direct[1] = False  # the gate's stack was checked in the old address space
        self.uc.reg_write(UC_X86_REG_CR3, cr3)

    @property
    def page_fault_error_code(self) -> int:
        """The error code of the fault being handled (QEMU's hidden ``error_code``).

        Known difference from hardware (field notes, trap 4): a read-modify-write instruction
        on a not-present page reports 0x4 where a real CPU reports 0x6.
        """
        return self.env.error_code.value & 0xFFFF

    # ----------------------------------------------------------------- rings and contexts
    def enter_ring(self, ring: int, *, eip: int, esp: int, eflags: int, cr3: int) -> None:
        """Continue in ``ring`` at ``eip``/``esp``, keeping everything else.

        A real CPU changes ring by loading CS and SS (with their hidden descriptor caches)
        through a gate or an ``iret``; QEMU keeps the resulting CPL in ``hflags``.  Unicorn
        cannot do either from a hook (field notes, trap 1), so xenlab copies the ring's CS/SS
        caches from the template captured at bring-up and sets hflags' CPL bits in the live
        state.  Everything else — general registers, data segments, x87/SSE state, CR0.TS,
        the LDT — stays as it is, exactly as on a hardware ring change.
        """
        assert self._cpl_flags is not None
        ctypes.memmove(self._cs_ss_cache, self._ring_cs_ss[ring], 2 * _SEGMENT_CACHE_SIZE)
        self._cpl_flags.value = (self._cpl_flags.value & ~3) | ring
        if self._cr3_cell.value != cr3:
            self.set_cr3(cr3)
        self.regs[ESP] = esp
        self.eip = eip
        self.eflags = eflags

    def reset(self, ring: int) -> None:
        """Load the ring's clean template context (a new vCPU: no LDT, fresh FPU)."""
        self._direct[1] = False
        self.uc.context_restore(self._templates[ring])

    def new_context(self) -> object:
        """A fresh saved context (a vCPU's register file while it is descheduled)."""
        return self.uc.context_save()

    def save_context(self, ctx: object) -> None:
        self.uc.context_update(ctx)

    def load_context(self, ctx: object) -> None:
        self._direct[1] = False  # the gate belongs to the vCPU that was running
        self.uc.context_restore(ctx)
        self.flush_tlb()  # context_restore does not flush the TLB, even with another CR3

    # ----------------------------------------------------------------- caches
    def flush_tlb(self) -> None:
        self._direct[1] = False  # a mapping may have gone: the gate's stack must be rechecked
        self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    def invalidate_code(self, va: int, length: int) -> None:
        """Drop translated code for a virtual range written behind the CPU's back."""
        self.uc.ctl_remove_cache(va, va + length)

    def mark_stale(self, mfn: int) -> None:
        """Note a frame whose translations must go before the CPU runs again."""
        self._stale.add(mfn)

    def invalidate_stale(self) -> None:
        """Invalidate every frame :meth:`mark_stale` noted (between runs)."""
        if self._stale:
            self.invalidate_frames(sorted(self._stale))
            self._stale.clear()

    def invalidate_frames(self, mfns: Iterable[int]) -> None:
        """Drop the code translated from these machine frames only (their bytes changed
        behind the CPU's back, e.g. a page flipped to another domain).  QEMU keys its
        translations by RAM address, which is the machine address here (one RAM block,
        mapped at 0); the self-test checks it.  Between runs only: inside a hook it could
        free the block being executed."""
        for mfn in mfns:
            _tb_invalidate_phys_range(self._handle, mfn << 12, (mfn + 1) << 12)

    def flush_translations(self) -> None:
        """Drop all translated code: after the hypervisor rewrote a frame behind the CPU's
        back (translations are keyed by machine address, so a reused frame would otherwise
        still run its old owner's code).  Takes effect at once, even inside a trap."""
        self.uc.ctl_flush_tb()

    # ----------------------------------------------------------------- running
    def run(self, count: int) -> int:
        """Run from the current EIP for at most ``count`` instructions; return how many ran.

        ``until`` is 0 and ``count`` > 0 always (field notes, trap 3).  Exceptions raised by
        the trap handler are re-raised here, after Unicorn has unwound.
        """
        if count <= 0:
            raise ValueError("count must be positive")
        self._old_exception.value = -1
        self._hook_error = None
        try:
            self.uc.emu_start(self.eip, 0, count=count)
        except UcError as exc:
            raise EmulationError(str(exc)) from exc
        if self._hook_error is not None:
            err, self._hook_error = self._hook_error, None
            raise err
        assert self.counter is not None
        return self.counter.executed()

    def stop(self) -> None:
        """End the current ``run`` once the running hook returns."""
        uclib.uc_emu_stop(self._handle)

    def set_fast_interrupt(self, vector: int, ring: int, handler: Callable[[], None]) -> None:
        """Send ``int $vector`` executed in ``ring`` straight to ``handler()``.

        The hypercall path is the hottest in the system: this skips every check a general
        trap needs (a vector >= 32 can only come from an ``int`` instruction).
        """
        if vector < 32:
            raise ValueError("only software-interrupt vectors (>= 32) can take the fast path")
        self._fast[:] = [vector, ring, handler]

    # ----------------------------------------------------------------- the direct gate
    def arm_direct_gate(self, vector: int, *, eip: int, cs: int, ss: int, esp: int) -> None:
        """Let ``int $vector`` from ring 3 enter ring 1 at ``cs:eip`` on stack ``ss:esp``
        without the hypervisor: QEMU delivers it through the IDT and TSS, as a 2003 CPU did
        for Xen's directly installed system-call gate (paper §2.1.2).

        The caller must have checked everything the delivery reads or writes — the selectors,
        ``eip`` within the code segment, and the 20 bytes below ``esp`` mapped writable —
        because a fault *during* QEMU's delivery unwinds through the Python hook (field
        notes, trap 1 (C)).  Any TLB flush, CR3 write or context switch disarms the gate;
        the hypervisor re-arms it after checking again.
        """
        if vector < 32:
            raise ValueError("only software-interrupt vectors (>= 32) can use the direct gate")
        gate = x86.encode_gate(eip, cs, type_=x86.DESC_TYPE_TRAP_GATE32, dpl=3)
        self.memory.write(self._idt_maddr + 8 * vector, gate)
        self.memory.write_u32(self._tss_maddr + x86.TSS32_ESP1, esp)
        self.memory.write_u32(self._tss_maddr + x86.TSS32_SS1, ss)
        self._direct[0] = vector
        self._direct[1] = True

    def disarm_direct_gate(self) -> None:
        self._direct[1] = False

    @property
    def direct_gate_armed(self) -> bool:
        return self._direct[1]

    def take_direct_deliveries(self) -> int:
        """How many ``int``s the direct gate delivered since the last call."""
        count, self._direct[2] = self._direct[2], 0
        return count

    @property
    def fast_handler(self) -> Callable[[], None]:
        return self._fast[2]

    @fast_handler.setter
    def fast_handler(self, handler: Callable[[], None]) -> None:
        self._fast[2] = handler

    def _make_interrupt_callback(self) -> Callable[[int, int, int], None]:
        """The INTR hook, as a closure over everything it touches (no attribute walks on
        the common path).  It runs on the emulator's stack, so no exception may escape
        into C: one is parked in ``_hook_error`` and re-raised by ``run``."""
        cpu = self
        fast = self._fast  # [vector, ring, handler], changed in place by set_fast_interrupt
        stop = uclib.uc_emu_stop
        handle = self._handle
        cpl_of = self._cpl_cell  # [the ctypes view of CS's selector], filled at bring-up
        direct = self._direct  # [vector, armed, deliveries], changed in place
        do_interrupt = uclib.x86_cpu_do_interrupt_x86_64
        do_interrupt.argtypes = [ctypes.c_void_p]
        do_interrupt.restype = None
        cpu_state = ctypes.c_void_p(self.env.cpu)

        def on_interrupt(_handle: int, intno: int, _user: int) -> None:
            try:
                if intno == fast[0] and cpl_of[0].value & 3 == fast[1]:
                    fast[2]()
                elif intno == direct[0] and direct[1] and cpl_of[0].value & 3 == 3:
                    # The armed direct gate: QEMU pushes the frame and enters ring 1 itself.
                    do_interrupt(cpu_state)
                    direct[2] += 1
                elif intno < 32 and not cpu._is_int.value:
                    cpu._old_exception.value = -1  # a fault: keep the next one from escalating
                    cpu.trap_handler(intno, False)
                else:
                    cpu.trap_handler(intno, True)
            except BaseException as exc:
                cpu._hook_error = exc
                stop(handle)

        return on_interrupt

    def _on_invalid_instruction(self, _handle: int, _user: int) -> bool:
        # EIP is on the undefined instruction, as for a #UD fault.  Returning True tells
        # Unicorn the hook dealt with it and emulation goes on from (the new) EIP.
        try:
            self.trap_handler(TRAP_INVALID_OP, False)
        except BaseException as exc:
            self._hook_error = exc
            uclib.uc_emu_stop(self._handle)
        return True

    @staticmethod
    def _unexpected_trap(vector: int, software: bool) -> None:
        raise RuntimeError(f"trap {vector} with no handler installed")

    # ----------------------------------------------------------------- software MMU walk
    def translate(
        self, cr3: int, va: int, *, write: bool = False, user: bool = False
    ) -> int | None:
        """Walk the PAE tables at ``cr3`` like the MMU does; machine address or None.

        Honours present, RW (CR0.WP is always set) and US; used by the hypervisor to read
        and write guest memory through the guest's own page tables.
        """
        words = self.memory.u64
        nr_words = len(words)
        i3 = ((cr3 & 0xFFFFFFE0) >> 3) + ((va >> 30) & 3)
        if i3 >= nr_words:
            return None
        e3 = words[i3]
        if not e3 & x86.PTE_P:
            return None
        i2 = ((e3 & x86.PTE_ADDR_MASK) >> 3) + ((va >> 21) & 0x1FF)
        if i2 >= nr_words:
            return None
        e2 = words[i2]
        if not e2 & x86.PTE_P or e2 & x86.PTE_PSE:
            return None  # xenlab guests never get large pages
        i1 = ((e2 & x86.PTE_ADDR_MASK) >> 3) + ((va >> 12) & 0x1FF)
        if i1 >= nr_words:
            return None
        e1 = words[i1]
        if not e1 & x86.PTE_P:
            return None
        rights = e2 & e1
        if write and not rights & x86.PTE_RW:
            return None
        if user and not rights & x86.PTE_US:
            return None
        maddr = (e1 & x86.PTE_ADDR_MASK) | (va & 0xFFF)
        return maddr if maddr < self.memory.size else None
