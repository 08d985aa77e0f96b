"""Start-up self-test: does the installed Unicorn behave as ``xenlab.hw`` assumes?

The machine layer works around Unicorn internals (``shared/reference/unicorn-field-notes.md``);
a different Unicorn could break them silently, so this builds a tiny world of its own — 1 MiB
of machine memory, PAE tables identity-mapping it, a flat GDT mapped read-only, the bring-up
trampoline — brings a CPU up and checks each assumption, failing loudly with
:class:`~xenlab.hw.liveenv.CalibrationError` naming the one that broke.  What each check pins:

* bring-up reaches rings 1 and 3 and ``cpl`` reads them (trap 1: no ring change from Python;
  trap 7: the live-state offsets of LiveEnv); the ring-3 ``int $0x82`` misses a fast path
  registered for ring 1, so ``cpl`` is live;
* three ``cli`` in ring 1 each arrive as #GP (13), not #DF (8), as faults, with EIP on the
  instruction and movable by the hook ("What maps naturally"; trap 2: ``old_exception`` reset);
* a store to a read-only page is #PF (14) with CR2 = its address (natural) and error code 0x3
  (trap 4: the hidden ``error_code``);
* exactly 5 instructions are counted (trap 3: ``count`` slices; the ``emu_counter`` offset);
* after a remap and ``flush_tlb`` a load sees the new frame and a store lands (trap 5);
* code rewritten behind the CPU's back runs anew after ``invalidate_frames`` of its frame
  (trap 6, by machine address: QEMU's RAM addresses are machine addresses).

Run ``python -m xenlab.hw.selftest``; code that builds machines calls :func:`ensure_selftest`.
"""

from __future__ import annotations

import sys

import unicorn

from xenlab.abi.layout import PAGE_SIZE
from xenlab.hw import x86
from xenlab.hw.cpu import CPU, EAX, EBX, BringUp, EmulationError, RingSelectors
from xenlab.hw.liveenv import CalibrationError
from xenlab.hw.memory import MachineMemory

NEEDS = "xenlab needs unicorn==2.1.4"
L3, L2, L1, GDT, TRAMPOLINE, STACK0 = 0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x7000
CODE, RO_PAGE, STACK1, OTHER_FRAME, REWRITE = 0x8000, 0x9000, 0xB000, 0xC000, 0xD000
RINGS = {0: RingSelectors(0x08, 0x10), 1: RingSelectors(0x19, 0x21), 3: RingSelectors(0x2B, 0x33)}
TRAMPOLINE_CODE = b"\xcf\x90\x90\xcd\x82\xeb\xfe"  # iretd; nop; nop; int $0x82; jmp .
STORE = b"\xa3" + RO_PAGE.to_bytes(4, "little")  # mov %eax, RO_PAGE (5 bytes)
LOAD = b"\x8b\x1d" + RO_PAGE.to_bytes(4, "little")  # mov RO_PAGE, %ebx
INT82 = b"\xcd\x82"
STAGE1 = CODE  # cli x3; store; int $0x82
STAGE2 = STAGE1 + 3 + len(STORE) + len(INT82)  # load; int $0x82
STAGE3 = STAGE2 + len(LOAD) + len(INT82)  # load; store; int $0x82
PROGRAM = b"\xfa" * 3 + STORE + INT82 + LOAD + INT82 + LOAD + STORE + INT82
_USER_RW = x86.PTE_P | x86.PTE_RW | x86.PTE_US | x86.PTE_A | x86.PTE_D


def _check(ok: bool, assumption: str) -> None:
    if not ok:
        raise CalibrationError(assumption)


def _build_world() -> tuple[MachineMemory, BringUp]:
    mem = MachineMemory(1 << 20)
    mem.write_u64(L3, x86.pte(L2, x86.PTE_P))  # PAE PDPTEs: only the present bit
    mem.write_u64(L2, x86.pte(L1, _USER_RW))
    for mfn in range(mem.nr_frames):  # identity map all of machine memory
        mem.write_u64(L1 + 8 * mfn, x86.pte(mfn * PAGE_SIZE, _USER_RW))
    for va in (GDT, RO_PAGE):  # read-only, as Xen maps GDT frames
        mem.write_u64(L1 + 8 * x86.l1_index(va), x86.pte(va, x86.PTE_P | x86.PTE_US | x86.PTE_A))
    for ring, sel in RINGS.items():  # flat segments, accessed bit preset (the GDT is read-only)
        for selector, type_ in ((sel.cs, x86.DESC_TYPE_CODE_RX), (sel.ds, x86.DESC_TYPE_DATA_RW)):
            desc = x86.encode_descriptor(0, 0xFFFFFFFF, type_=type_ | x86.DESC_ACCESSED, dpl=ring)
            mem.write(GDT + 8 * x86.selector_index(selector), desc)
    mem.write(TRAMPOLINE, TRAMPOLINE_CODE)
    mem.write(CODE, PROGRAM)
    return mem, BringUp(L3, GDT, 7 * 8 - 1, TRAMPOLINE, STACK0, RINGS)  # GDT: 7 entries


def _selftest() -> None:
    mem, spec = _build_world()
    cpu = CPU(mem)  # hooks go in before anything is translated (trap 6)
    cpu.bring_up(spec)
    traps: list[tuple[int, bool, int]] = []  # (vector, software, cpl) per trap
    faults: list[tuple[int, int, int]] = []  # (eip, error code, cr2) per fault

    def on_trap(vector: int, software: bool) -> None:
        traps.append((vector, software, cpu.cpl))
        faults.append((cpu.eip, cpu.page_fault_error_code, cpu.cr2))
        if vector == 13 and not software:
            cpu.eip += 1  # skip the cli
        elif vector == 14 and not software:
            cpu.eip += len(STORE)
        else:
            cpu.stop()

    def on_fast() -> None:
        traps.append((0x82, True, -1))  # -1 marks the fast path
        cpu.stop()

    cpu.trap_handler = on_trap
    cpu.set_fast_interrupt(0x82, 1, on_fast)
    cpu.enter_ring(1, eip=STAGE1, esp=STACK1, eflags=0x202, cr3=L3)
    _check(cpu.cpl == 1, f"enter_ring(1) left the CPU in ring {cpu.cpl}")
    ran = cpu.run(50)
    _check(
        all(t[0] != 8 for t in traps),
        f"faults escalate to #DF (8): old_exception is not being reset; traps {traps}",
    )
    expected = [(13, False, 1)] * 3 + [(14, False, 1), (0x82, True, -1)]
    _check(
        traps == expected,
        "ring-1 faults must arrive as three #GP (13) then one #PF (14), "
        f"each in ring 1, then the ring-1 fast path; got (vector, software, cpl) {traps}",
    )
    _check(
        [f[0] for f in faults] == [STAGE1, STAGE1 + 1, STAGE1 + 2, STAGE1 + 3],
        f"faults must report EIP on the faulting instruction; got {faults}",
    )
    _check(
        faults[3][1:] == (0x3, RO_PAGE),
        f"#PF on a read-only store must give error code 0x3 and CR2 {RO_PAGE:#x}; "
        f"got {faults[3][1]:#x} and {faults[3][2]:#x}",
    )
    _check(ran == 5, f"the instruction counter must count 5 instructions, not {ran}")
    _check(cpu.cpl == 1, f"a ring-1 run ended in ring {cpu.cpl}")

    cpu.eip = STAGE2
    cpu.run(50)  # caches the read-only translation of RO_PAGE
    mem.write_u32(OTHER_FRAME, 0x0DDF00D5)
    mem.write_u64(L1 + 8 * x86.l1_index(RO_PAGE), x86.pte(OTHER_FRAME, _USER_RW))
    cpu.flush_tlb()
    cpu.set_reg(EAX, 0x5E1F7E57)
    traps.clear()
    cpu.eip = STAGE3
    cpu.run(50)
    _check(traps == [(0x82, True, -1)], f"after remap and flush_tlb the store still traps: {traps}")
    _check(cpu.reg(EBX) == 0x0DDF00D5, "flush_tlb did not drop a stale translation")
    _check(mem.read_u32(OTHER_FRAME) == 0x5E1F7E57, "the store after flush_tlb did not land")

    cpu.enter_ring(3, eip=STAGE1 + 3 + len(STORE), esp=STACK1, eflags=0x202, cr3=L3)
    _check(cpu.cpl == 3, f"enter_ring(3) left the CPU in ring {cpu.cpl}")
    traps.clear()
    cpu.run(10)
    _check(
        traps == [(0x82, True, 3)],
        f"int $0x82 from ring 3 must reach trap_handler, not the ring-1 fast path: {traps}",
    )

    # Code rewritten through machine memory (as a page flip does) runs anew once its frame's
    # translations are invalidated: mov $imm,%eax; int $0x82.
    results = []
    for value in (0x1111, 0x2222):
        mem.write(REWRITE, b"\xb8" + value.to_bytes(4, "little") + INT82)
        cpu.invalidate_frames([REWRITE >> 12])
        cpu.enter_ring(3, eip=REWRITE, esp=STACK1, eflags=0x202, cr3=L3)
        cpu.run(10)
        results.append(cpu.reg(EAX))
    _check(
        results == [0x1111, 0x2222],
        f"invalidate_frames must drop the translation of a rewritten frame; ran {results}",
    )


def run_selftest() -> None:
    """Run every check; raise CalibrationError naming the first broken assumption."""
    try:
        _selftest()
    except (CalibrationError, EmulationError, unicorn.UcError) as exc:
        raise CalibrationError(
            f"xenlab machine self-test failed: {exc}. {NEEDS} "
            f"(installed: unicorn {unicorn.__version__})"
        ) from exc


_NOT_RUN = object()
_outcome: object = _NOT_RUN  # None once passed, or the CalibrationError it raised


def ensure_selftest() -> None:
    """Run the self-test once per process; later calls repeat its outcome."""
    global _outcome
    if _outcome is _NOT_RUN:
        try:
            run_selftest()
            _outcome = None
        except CalibrationError as exc:
            _outcome = exc
    if isinstance(_outcome, CalibrationError):
        raise _outcome


def main() -> int:
    try:
        run_selftest()
    except CalibrationError as exc:
        print(exc, file=sys.stderr)
        return 1
    print("xenlab machine self-test: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
