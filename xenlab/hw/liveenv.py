"""Direct access to QEMU's live ``CPUX86State`` and to Unicorn's instruction counter.

Why: Unicorn 2.1.4's Python binding costs ~2 µs per register access, and it does not expose
three fields a hypervisor needs (field notes, traps 2, 4 and 7):

* ``old_exception`` — never reset by Unicorn, so the second fault of the engine's life
  would arrive as a double fault and the third would silently stop emulation;
* ``error_code`` — the page-fault error code, which no register or hook argument carries;
* ``exception_is_int`` — tells a software ``int $13`` from a real #GP.

All offsets are *calibrated at run time*, never hard-coded: we plant marker values in
registers whose position in the structure is known relative to the field we want (DR0-DR3
sit right after ``error_code``/``exception_is_int``/``exception_next_eip`` in QEMU's
``CPUX86State``), then search for them.  ``xenlab.hw.selftest`` re-checks every field, so an
incompatible Unicorn fails loudly at start-up instead of misbehaving later.

Layout relied on (qemu/target/i386/cpu.h in Unicorn 2.1.4, an x86_64 build):
``regs[16]`` (u64) at 0, ``eip`` (u64), ...; and near DR0:
``int error_code; int exception_is_int; u64 exception_next_eip; u64 dr[8];
void *cpu_breakpoint[4]; int old_exception``.
"""

from __future__ import annotations

import ctypes
import itertools
import struct

from unicorn import Uc
from unicorn.unicorn_py3.unicorn import uclib
from unicorn.x86_const import (
    UC_X86_REG_DR0,
    UC_X86_REG_DR1,
    UC_X86_REG_DR2,
    UC_X86_REG_DR3,
    UC_X86_REG_EAX,
    UC_X86_REG_EIP,
)

_DRS = (UC_X86_REG_DR0, UC_X86_REG_DR1, UC_X86_REG_DR2, UC_X86_REG_DR3)
_MARKERS = (0x13570000, 0x24680000, 0x35790000, 0x468A0000)  # page-aligned: valid DR values
_PATTERN = struct.pack("<4Q", *_MARKERS)


class CalibrationError(RuntimeError):
    """The installed Unicorn does not have the internal layout xenlab relies on."""


class _UcContextHeader(ctypes.Structure):
    # struct uc_context (uc_priv.h) precedes the saved CPUX86State bytes.
    _fields_ = [
        ("context_size", ctypes.c_size_t),
        ("mode", ctypes.c_int),
        ("arch", ctypes.c_int),
        ("snapshot_level", ctypes.c_int),
        ("ramblock_freed", ctypes.c_bool),
        ("last_block", ctypes.c_void_p),
        ("fv", ctypes.c_void_p),
    ]


def _context_bytes(uc: Uc) -> bytes:
    ctx = uc.context_save()
    addr = ctypes.cast(ctx.context, ctypes.c_void_p).value
    hdr = _UcContextHeader.from_address(addr)
    return ctypes.string_at(addr + ctypes.sizeof(_UcContextHeader), hdr.context_size)


def _mapping_end(addr: int) -> int:
    """End of the host mapping holding ``addr`` (so a scan never reads unmapped memory)."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                if lo <= addr < hi:
                    return hi
    except OSError:
        pass
    return addr + (1 << 20)


class LiveEnv:
    """Zero-copy ctypes views of fields in the live CPU state of one Unicorn instance."""

    def __init__(self, uc: Uc) -> None:
        saved = [uc.reg_read(r) for r in _DRS]
        for reg, marker in zip(_DRS, _MARKERS, strict=True):
            uc.reg_write(reg, marker)
        try:
            raw = _context_bytes(uc)
            off_dr0 = raw.find(_PATTERN)
            if off_dr0 <= 0 or raw.find(_PATTERN, off_dr0 + 1) >= 0:
                raise CalibrationError("DR0-DR3 markers not found exactly once in a saved context")
            # env: the live CPUX86State; cpu: its CPUState (for x86_cpu_do_interrupt).
            self.env, self.cpu = self._find_live_env(uc, off_dr0)
        finally:
            for reg, value in zip(_DRS, saved, strict=True):
                uc.reg_write(reg, value)
        env = self.env
        self.off_error_code = off_dr0 - 16
        self.off_is_int = off_dr0 - 12
        self.off_old_exception = off_dr0 + 8 * 8 + 4 * ctypes.sizeof(ctypes.c_void_p)
        self.error_code = ctypes.c_int32.from_address(env + self.off_error_code)
        self.is_int = ctypes.c_int32.from_address(env + self.off_is_int)
        self.old_exception = ctypes.c_int32.from_address(env + self.off_old_exception)
        # General registers: env->regs[0..7] are u64 in the order EAX ECX EDX EBX ESP EBP ESI EDI.
        self.regs = (ctypes.c_uint64 * 8).from_address(env)
        self.eip = ctypes.c_uint64.from_address(env + self._find_u64(uc, UC_X86_REG_EIP, 0x400))

    @staticmethod
    def _find_live_env(uc: Uc, off_dr0: int) -> tuple[int, int]:
        get_cpu = uclib.qemu_get_cpu_x86_64
        get_cpu.restype = ctypes.c_void_p
        get_cpu.argtypes = [ctypes.c_void_p, ctypes.c_int]
        cpu = get_cpu(uc._uch, -1) or get_cpu(uc._uch, 0)  # Unicorn leaves cpu_index at -1
        if not cpu:
            raise CalibrationError("qemu_get_cpu_x86_64 returned no CPU")
        blob = ctypes.string_at(cpu, min(4 << 20, _mapping_end(cpu) - cpu))
        candidates = []
        pos = blob.find(_PATTERN)
        while pos >= 0:
            candidates.append(cpu + pos - off_dr0)
            pos = blob.find(_PATTERN, pos + 1)
        eax = uc.reg_read(UC_X86_REG_EAX)
        uc.reg_write(UC_X86_REG_EAX, 0x5A5A1234)  # the live env follows reg_write; copies don't
        live = [c for c in candidates if ctypes.c_uint64.from_address(c).value == 0x5A5A1234]
        uc.reg_write(UC_X86_REG_EAX, eax)
        if len(live) != 1:
            raise CalibrationError(f"live CPU state not found ({len(candidates)} candidates)")
        return live[0], cpu

    def _find_u64(self, uc: Uc, reg: int, span: int) -> int:
        old = uc.reg_read(reg)
        hits = None
        for probe in (0x7E57_1000, 0x7E57_2004):
            uc.reg_write(reg, probe)
            blob = ctypes.string_at(self.env, span)
            found = {o for o in range(0, span, 8) if struct.unpack_from("<Q", blob, o)[0] == probe}
            hits = found if hits is None else hits & found
        uc.reg_write(reg, old)
        if not hits or len(hits) != 1:
            raise CalibrationError(f"register {reg} not found in the live CPU state")
        return hits.pop()


class InstructionCounter:
    """Unicorn's per-``emu_start`` instruction counter (``uc->emu_counter``).

    With ``count=N`` Unicorn counts every instruction it starts; the counter tells how many
    a run executed when a hook ended it early (a hypercall that blocks, a crash).  Found by
    planting a distinctive ``count`` and looking for it in ``struct uc_struct``: the counter
    is the u64 just before it (uc_priv.h: ``uint64_t emu_counter; uint64_t emu_count;``).
    """

    MARK = 0x0000_7A5C_0DE5_0000
    _calibrations = itertools.count()

    def __init__(self, uc: Uc, run_marker) -> None:
        """``run_marker(count)`` must run a few instructions with ``emu_start(count=count)``.

        Each calibration plants its own mark: the scan may reach into the ``uc_struct`` of
        another Unicorn instance in the same process, which holds an older mark.
        """
        mark = self.MARK + 16 * next(self._calibrations)
        run_marker(mark)
        base = uc._uch.value if hasattr(uc._uch, "value") else int(uc._uch)
        blob = ctypes.string_at(base, min(1 << 16, _mapping_end(base) - base))
        offs = [
            o for o in range(8, len(blob) - 8, 8) if struct.unpack_from("<Q", blob, o)[0] == mark
        ]
        # The live field follows a second run; a stale copy of the mark elsewhere in the
        # heap (it happens, depending on what the process allocated before) does not.
        run_marker(mark + 8)
        live = [o for o in offs if ctypes.c_uint64.from_address(base + o).value == mark + 8]
        if len(live) != 1:
            raise CalibrationError(
                f"uc->emu_count not found ({len(offs)} candidates, {len(live)} follow emu_start)"
            )
        self._counter = ctypes.c_uint64.from_address(base + live[0] - 8)
        self._limit = ctypes.c_uint64.from_address(base + live[0])

    def executed(self) -> int:
        """Instructions completed by the last ``emu_start``.

        When the budget runs out Unicorn has already counted the instruction it refused to
        run (counter = count + 1), hence the ``min``.
        """
        return min(self._counter.value, self._limit.value)
