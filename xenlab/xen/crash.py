"""What a crashed domain leaves behind: the reason, a register dump and the code at EIP.

Xen's ``domain_crash`` plus ``show_execution_state``: the hypervisor and every other domain
carry on; the dead domain's last state is kept for the student to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import capstone

from xenlab.hw.cpu import REG_NAMES
from xenlab.xen.domain import DomainState
from xenlab.xen.mm import GuestFault

if TYPE_CHECKING:
    from xenlab.xen.domain import VCPU

_DISASM = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
CODE_BYTES = 16  # enough for a few instructions at EIP


@dataclass
class CrashReport:
    reason: str
    registers: dict[str, int] = field(default_factory=dict)
    disassembly: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        regs = self.registers
        lines = [f"domain crashed: {self.reason}"]
        names = [*REG_NAMES, "eip", "eflags"]
        for row in range(0, len(names), 4):
            lines.append(
                "  " + "  ".join(f"{n}={regs[n]:08x}" for n in names[row : row + 4] if n in regs)
            )
        lines.append(
            "  "
            + "  ".join(f"{n}={regs[n]:04x}" for n in ("cs", "ss", "ds", "es") if n in regs)
            + "  "
            + "  ".join(f"{n}={regs[n]:08x}" for n in ("cr2", "cr3") if n in regs)
        )
        lines.extend("  " + line for line in self.disassembly)
        return "\n".join(lines)


def disassemble_at(vcpu: VCPU, eip: int, count: int = 4) -> list[str]:
    """Disassemble up to ``count`` instructions at ``eip`` in the vCPU's address space."""
    guest = vcpu.domain.guest_memory
    code = b""
    for size in (CODE_BYTES, 1):  # if the page ends early, still show what is there
        try:
            code = guest.read(eip, size)
            break
        except GuestFault:
            continue
    if not code:
        return [f"{eip:08x}: <not mapped>"]
    lines = []
    for insn in _DISASM.disasm(code, eip):
        marker = "=>" if insn.address == eip else "  "
        text = f"{insn.address:08x}: {insn.bytes.hex():<16} {insn.mnemonic} {insn.op_str}"
        lines.append(f"{marker} {text.rstrip()}")
        if len(lines) == count:
            break
    return lines or [f"{eip:08x}: {code.hex()} (not a valid instruction)"]


def crash_domain(vcpu: VCPU, reason: str) -> None:
    """Kill the running domain, keeping a register dump and disassembly; stop its slice."""
    domain = vcpu.domain
    cpu = domain.machine.cpu
    regs = {name: cpu.reg(i) for i, name in enumerate(REG_NAMES)}
    regs["eip"] = cpu.eip
    regs["eflags"] = cpu.eflags
    regs.update(cpu.read_control())
    regs["cr3"] = vcpu.cr3
    domain.crash = CrashReport(reason, regs, disassemble_at(vcpu, regs["eip"]))
    domain.state = DomainState.CRASHED
    domain.shutdown_reason = "crashed"
    cpu.stop()
