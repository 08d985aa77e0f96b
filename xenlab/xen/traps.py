"""Exceptions and software interrupts: the guest's trap table and Xen's bounce frame.

Paper §2.1.2 and Table 1: a guest registers a table of handlers with ``set_trap_table``;
when its code faults, the CPU traps into Xen (here: ``CPU.trap_handler``), and Xen
*bounces* the exception to the guest's handler in ring 1 by building the frame the
hardware would have built (``create_bounce_frame`` in Xen's entry.S):

    [error code]  EIP  CS | saved_upcall_mask << 16  EFLAGS  [ESP  SS  — only from ring 3]

The page-fault handler is the one that changes: the guest cannot read CR2 in ring 1, so
Xen stores the faulting address in ``vcpu_info.arch.cr2`` first.

System calls take a shorter road (paper §2.1.2, "fast exception handlers"): Xen 2003 put
the guest's system-call handler straight into the processor's IDT, so ``int $0x80`` from a
user program reached the guest kernel without entering Xen at all.  In xenlab every ``int``
first reaches Python (Unicorn has no IDT of its own), so the shortest possible path is a
*direct gate* (``arm_direct_trap``, after Xen 3's ``int80_direct_trap``): once Xen has
checked the handler and the kernel stack, the CPU's interrupt hook lets QEMU deliver
``int $0x80`` through a real IDT gate and TSS, with no hypervisor code between the trap
and the guest's handler.  Deliveries are counted apart (``DomainStats.direct_traps``).
As in Xen, the gate is used only for a DPL-3 entry without the "clear event mask" flag,
and the frame is the hardware's: ``EIP CS EFLAGS ESP SS``, with no saved upcall mask in
CS's upper half.

Simplified, relative to real Xen: Xen emulates a few privileged instructions for PV guests
(I/O port access with IOPL, a CR3 write becomes a NEW_BASEPTR); xenlab emulates only
``rdtsc`` (made privileged by CR4.TSD, so time stays virtual), so every other privileged
instruction reaches the guest as #GP — which is what students should see.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from xenlab.abi import errno, layout
from xenlab.abi.layout import TRAP_NAMES, TRAPS_WITH_ERROR_CODE
from xenlab.hw import x86
from xenlab.hw.cpu import ESP
from xenlab.xen.crash import crash_domain
from xenlab.xen.domain import TrapInfo
from xenlab.xen.mm import GuestFault

if TYPE_CHECKING:
    from xenlab.xen.domain import VCPU

TRAP_NO_DEVICE = 7  # #NM
DIRECT_TRAP_VECTOR = 0x80  # the system-call vector Xen installs directly (int80_direct_trap)
_DIRECT_FRAME = 20  # bytes the CPU pushes entering ring 1 from ring 3: EIP CS EFLAGS ESP SS
MAX_TRAP_TABLE_ENTRIES = 4096  # a table longer than this (without its terminator) is refused
_TRAP_INFO = struct.Struct("<BBHI")
# Bits a bounce clears in the real EFLAGS (Xen: TF, NT, VM, RF); IF stays set for real,
# the guest's *virtual* IF is the upcall mask.
_EFLAGS_CLEARED_ON_BOUNCE = x86.EFLAGS_TF | x86.EFLAGS_NT | x86.EFLAGS_VM | x86.EFLAGS_RF


EVENT_CALLBACK_VECTOR = 0x100  # not a CPU vector: how an event upcall shows in reports
FAILSAFE_VECTOR = 0x101  # nor this: the failsafe callback


def trap_name(vector: int) -> str:
    if vector == EVENT_CALLBACK_VECTOR:
        return "event upcall"
    if vector == FAILSAFE_VECTOR:
        return "failsafe callback"
    return TRAP_NAMES.get(vector, f"int {vector:#x}")


# --------------------------------------------------------------------- hypercalls
def do_set_trap_table(vcpu: VCPU, traps: int) -> int:
    """``set_trap_table(struct trap_info traps[])``, terminated by an entry with address 0.

    A NULL table clears every handler.  The only check at registration (paper §2.1.2) is
    that a handler's code segment is not ring 0: such an entry is refused with -EPERM
    (real Xen 3 silently raises the RPL to 1 instead; the 2003 Xen refused, and refusing
    shows the rule).  Entries before a bad one stay installed, as in Xen.
    """
    vcpu.domain.machine.cpu.disarm_direct_gate()  # the handler may change
    if traps == 0:
        vcpu.trap_table.clear()
        return 0
    guest = vcpu.domain.guest_memory
    for i in range(MAX_TRAP_TABLE_ENTRIES):
        vector, flags, cs, address = _TRAP_INFO.unpack(guest.read(traps + i * 8, 8))
        if address == 0:
            return 0
        if cs & 3 == 0:
            return -errno.EPERM
        vcpu.trap_table[vector] = TrapInfo(vector, flags, cs, address)
    return -errno.E2BIG


def do_stack_switch(vcpu: VCPU, ss: int, esp: int) -> int:
    """``stack_switch(ss, esp)``: the ring-1 stack for traps taken in ring 3 (the TSS's
    ss1/esp1 on real hardware).  The selector must be a ring-1 one."""
    if ss & 3 != 1:
        return -errno.EPERM
    vcpu.domain.machine.cpu.disarm_direct_gate()  # the gate's stack was this one
    vcpu.kernel_ss, vcpu.kernel_sp = ss, esp
    return 0


# --------------------------------------------------------------------- delivery
def handle_trap(vcpu: VCPU, vector: int, software: bool) -> None:
    """Everything but a ring-1 hypercall arrives here from the CPU."""
    cpu = vcpu.domain.machine.cpu
    if software:
        # int n: EIP is already past the instruction.  Honoured only if the trap table's
        # DPL allows the current ring to raise it (the CPU would check the IDT gate; here
        # Xen must, since Unicorn never looks at an IDT: field notes, item 8).
        entry = vcpu.trap_table.get(vector)
        if entry is not None and cpu.cpl <= entry.flags & layout.TI_DPL_MASK:
            vcpu.domain.stats.traps[vector] += 1
            from_user = cpu.cpl == 3
            bounce(vcpu, entry, error_code=None, eip=cpu.eip)
            if vector == DIRECT_TRAP_VECTOR and from_user and vcpu.domain.alive:
                arm_direct_trap(vcpu)  # the next one need not come through here
            return
        # Otherwise the CPU raises #GP with an IDT error code (vector << 3 | 2) at the int.
        insn_eip = (cpu.eip - _int_length(vcpu, vector)) & 0xFFFFFFFF
        deliver_fault(vcpu, layout.TRAP_GP_FAULT, (vector << 3) | 2, insn_eip)
        return
    error_code = None
    if vector in TRAPS_WITH_ERROR_CODE:
        error_code = cpu.page_fault_error_code
    if vector == layout.TRAP_PAGE_FAULT:
        _write_vcpu_info_cr2(vcpu, cpu.cr2)
    elif vector == layout.TRAP_GP_FAULT and error_code == 0 and emulate_rdtsc(vcpu):
        vcpu.domain.stats.emulated += 1
        return
    elif vector == TRAP_NO_DEVICE:
        # The guest's virtual CR0.TS (fpu_taskswitch): Xen clears it as it delivers #NM,
        # so the guest's handler can use the FPU straight away.
        cpu.set_task_switched(False)
    deliver_fault(vcpu, vector, error_code, cpu.eip)


def deliver_fault(vcpu: VCPU, vector: int, error_code: int | None, eip: int) -> None:
    """Deliver an exception (counted by the vector the guest receives) or crash trying."""
    vcpu.domain.stats.traps[vector] += 1
    last = vcpu.last_bounce
    if last is not None and last[0] == eip and _instructions(vcpu) - last[1] <= 1:
        # The handler's very first instruction faulted (or could not even be fetched,
        # which Unicorn does not count): delivering again would loop.
        crash_domain(
            vcpu,
            f"{trap_name(vector)} at {eip:#010x}: trap delivery faulted again "
            "(the handler itself cannot run)",
        )
        return
    entry = vcpu.trap_table.get(vector)
    if entry is None:
        detail = f" error code {error_code:#x}" if error_code is not None else ""
        if vector == layout.TRAP_PAGE_FAULT:
            detail += f" cr2 {vcpu.domain.machine.cpu.cr2:#010x}"
        crash_domain(
            vcpu, f"{trap_name(vector)} at {eip:#010x}{detail} with no handler in the trap table"
        )
        return
    bounce(vcpu, entry, error_code=error_code, eip=eip)


def bounce(
    vcpu: VCPU, entry: TrapInfo, *, error_code: int | None, eip: int, on_kernel_stack: bool = False
) -> None:
    """Build Xen's bounce frame on the guest kernel stack and continue at the handler
    (``on_kernel_stack``: on the stack_switch stack even from ring 1, for the failsafe)."""
    domain = vcpu.domain
    cpu = domain.machine.cpu
    if entry.cs != layout.FLAT_RING1_CS:
        # Simplified: xenlab enters ring 1 through its ring-1 template context, so a
        # handler must use Xen's flat ring-1 code segment, not one of the guest's GDT.
        crash_domain(vcpu, f"trap handler CS {entry.cs:#06x} is not FLAT_RING1_CS")
        return
    from_ring = cpu.cpl
    eflags = cpu.eflags
    vcpu_info = domain.shared_info_mfn << 12
    memory = domain.machine.memory
    saved_mask = memory.view[vcpu_info + layout.VI_UPCALL_MASK]
    frame_eflags = (eflags & ~x86.EFLAGS_IF) | (0 if saved_mask else x86.EFLAGS_IF)
    words = [eip, cpu.cs | (saved_mask << 16), frame_eflags]
    if from_ring == 3:
        if vcpu.kernel_sp == 0:
            crash_domain(
                vcpu, f"{trap_name(entry.vector)} in ring 3 but no kernel stack (stack_switch)"
            )
            return
        if vcpu.kernel_ss != layout.FLAT_RING1_SS:  # the only ring-1 stack segment, as for CS
            crash_domain(vcpu, f"kernel stack segment {vcpu.kernel_ss:#06x} is not FLAT_RING1_SS")
            return
        words += [cpu.reg(ESP), cpu.ss]
        sp = vcpu.kernel_sp
    else:
        sp = vcpu.kernel_sp if on_kernel_stack else cpu.reg(ESP)
    if error_code is not None:
        words.insert(0, error_code)
    frame = struct.pack(f"<{len(words)}I", *words)
    sp = (sp - len(frame)) & 0xFFFFFFFF
    try:
        domain.guest_memory.write(sp, frame, may_hold_code=False)
    except GuestFault as fault:
        failsafe = vcpu.failsafe_callback
        if failsafe is not None and entry.vector != FAILSAFE_VECTOR and vcpu.kernel_sp:
            # The guest's failsafe callback gets one chance, on its known-good kernel
            # stack (stack_switch), to report or repair; if that fails too, it dies.
            vcpu.domain.stats.traps[FAILSAFE_VECTOR] += 1
            bounce(
                vcpu,
                TrapInfo(FAILSAFE_VECTOR, layout.TI_CLEAR_EVENT_MASK, *failsafe),
                error_code=None,
                eip=eip,
                on_kernel_stack=True,
            )
            return
        crash_domain(
            vcpu,
            f"cannot deliver {trap_name(entry.vector)}: writing the bounce frame faulted ({fault})",
        )
        return
    if entry.flags & layout.TI_CLEAR_EVENT_MASK:
        memory.view[vcpu_info + layout.VI_UPCALL_MASK] = 1
    vcpu.last_bounce = (entry.address, _instructions(vcpu))
    new_eflags = eflags & ~_EFLAGS_CLEARED_ON_BOUNCE
    if from_ring == 3:
        cpu.enter_ring(1, eip=entry.address, esp=sp, eflags=new_eflags, cr3=vcpu.cr3)
    else:
        cpu.set_reg(ESP, sp)
        cpu.eip = entry.address
        cpu.eflags = new_eflags


def arm_direct_trap(vcpu: VCPU) -> bool:
    """Install the guest's ``int $0x80`` handler as a direct gate, if Xen can vouch for it.

    Xen 3 (``init_int80_direct_trap``) does it for a DPL-3 trap-table entry whose code
    segment is valid and which does not ask for events to be masked (only Xen can mask
    them, so such a call must come through Xen).  xenlab must also check what the CPU
    will touch — the kernel stack (``stack_switch``) for the 20-byte frame — because a
    fault inside the CPU's delivery cannot be reflected (see ``CPU.arm_direct_gate``).
    Any TLB flush or context switch disarms the gate; the next ``int $0x80`` comes through
    ``handle_trap``, which calls this again.
    """
    entry = vcpu.trap_table.get(DIRECT_TRAP_VECTOR)
    cpu = vcpu.domain.machine.cpu
    sp = vcpu.kernel_sp
    if (
        entry is None
        or entry.flags & layout.TI_DPL_MASK != 3
        or entry.flags & layout.TI_CLEAR_EVENT_MASK
        or entry.cs != layout.FLAT_RING1_CS
        or entry.address >= layout.GUEST_SEGMENT_MAX_ADDR
        or vcpu.kernel_ss != layout.FLAT_RING1_SS
        or not _DIRECT_FRAME <= sp <= layout.HYPERVISOR_VIRT_START
        or cpu.translate(vcpu.cr3, sp - _DIRECT_FRAME, write=True) is None
        or cpu.translate(vcpu.cr3, sp - 1, write=True) is None
    ):
        return False
    cpu.arm_direct_gate(
        DIRECT_TRAP_VECTOR, eip=entry.address, cs=entry.cs, ss=vcpu.kernel_ss, esp=sp
    )
    return True


def account_direct_traps(vcpu: VCPU) -> None:
    """Charge the direct gate's deliveries to the vCPU that made them (end of a slice)."""
    n = vcpu.domain.machine.cpu.take_direct_deliveries()
    if n:
        vcpu.domain.stats.traps[DIRECT_TRAP_VECTOR] += n
        vcpu.domain.stats.direct_traps += n


def emulate_rdtsc(vcpu: VCPU) -> bool:
    """#GP from ``rdtsc`` (0F 31) or ``rdtscp`` (0F 01 F9), privileged by CR4.TSD: give the
    guest the virtual TSC (system time in ns; see ``xen.time``) and step over it.  False
    if the faulting instruction is something else."""
    cpu = vcpu.domain.machine.cpu
    try:
        opcode = vcpu.domain.guest_memory.read(cpu.eip, 3)
    except GuestFault:
        return False
    if opcode[:2] == b"\x0f\x31":
        length = 2
    elif opcode == b"\x0f\x01\xf9":
        length = 3
        cpu.set_reg(1, 0)  # ECX = TSC_AUX: xenlab has one CPU, number 0
    else:
        return False
    tsc = vcpu.domain.clock.now()
    cpu.set_reg(0, tsc)  # EAX: low half
    cpu.set_reg(2, tsc >> 32)  # EDX: high half
    cpu.eip = cpu.eip + length
    return True


def _instructions(vcpu: VCPU) -> int:
    """Instructions the vCPU has started so far (this run included)."""
    counter = vcpu.domain.machine.cpu.counter
    return vcpu.domain.stats.instructions + (counter.executed() if counter else 0)


def do_fpu_taskswitch(vcpu: VCPU, set_ts: int) -> int:
    """``fpu_taskswitch(set)``: the guest's ``stts``/``clts`` (both privileged in ring 1):
    with TS set, its next FPU instruction raises #NM, so it can switch FPU state lazily."""
    vcpu.domain.machine.cpu.set_task_switched(bool(set_ts))
    return 0


_IRET_FRAME = struct.Struct("<IIII")  # eax, eip, cs, eflags (then esp, ss to an outer ring)


def do_iret(vcpu: VCPU) -> int:
    """``iret`` (hypercall 23): return from an exception or upcall through Xen, when the
    guest must restore its virtual interrupt flag as it returns.  The hypercall page's stub
    pushed EAX; the frame above it is the one a bounce built.  A frame Xen cannot read, or
    that returns to ring 0, kills the domain, as in Xen."""
    domain = vcpu.domain
    cpu = domain.machine.cpu
    esp = cpu.reg(ESP)
    try:
        eax, eip, cs, eflags = _IRET_FRAME.unpack(domain.guest_memory.read(esp, 16))
        outer = cs & 3 == 3
        user_esp, user_ss = (
            struct.unpack("<II", domain.guest_memory.read(esp + 16, 8)) if outer else (0, 0)
        )
    except GuestFault as fault:
        crash_domain(vcpu, f"iret hypercall: cannot read the frame at {esp:#010x} ({fault})")
        return 0
    want = layout.FLAT_RING3_CS if outer else layout.FLAT_RING1_CS
    if cs & 0xFFFF != want:
        crash_domain(vcpu, f"iret hypercall to CS {cs & 0xFFFF:#06x}, which xenlab cannot enter")
        return 0
    memory = domain.machine.memory
    memory.view[vcpu.vcpu_info + layout.VI_UPCALL_MASK] = 0 if eflags & x86.EFLAGS_IF else 1
    eflags = (eflags & ~x86.EFLAGS_IOPL) | x86.EFLAGS_IF  # the real IF stays on
    if outer:
        cpu.enter_ring(3, eip=eip, esp=user_esp, eflags=eflags, cr3=vcpu.cr3)
        del user_ss  # the ring-3 template carries FLAT_RING3_SS
    else:
        cpu.set_reg(ESP, esp + 16)
        cpu.eip = eip
        cpu.eflags = eflags
    return eax  # the hypercall's result register is the restored EAX


def _write_vcpu_info_cr2(vcpu: VCPU, cr2: int) -> None:
    addr = (vcpu.domain.shared_info_mfn << 12) + vcpu.vcpu_id * layout.VCPU_INFO_SIZE
    vcpu.domain.machine.memory.write_u32(addr + layout.VI_ARCH_CR2, cr2)


def _int_length(vcpu: VCPU, vector: int) -> int:
    """Length of the software-interrupt instruction that just ran: ``int n`` (CD nn) is
    2 bytes; ``int3`` (CC), ``into`` (CE) and ``int1`` (F1) are 1."""
    try:
        opcode, imm = vcpu.domain.guest_memory.read(vcpu.domain.machine.cpu.eip - 2, 2)
    except GuestFault:
        return 1
    return 2 if opcode == 0xCD and imm == vector else 1
