"""A stand-in for the hypervisor, just big enough to run the guest runtime.

NOT xenlab's hypervisor (that is xenlab/xen): this runs a guest ELF on
Unicorn in ring 0 with paging off, so that the guest side of the contract
(start_info offsets, hypercall-page calls, printk, trap handlers and their
frame layout) is tested on its own, fast, whatever state the real one is in.

What it fakes, following the start-of-day and trap-delivery contract:
- loads PT_LOAD segments at their virtual addresses (flat memory), fills
  the hypercall page with ``mov $nr,%eax; int $0x82; ret`` stubs, writes a
  start_info page and enters at e_entry with ESI pointing at it;
- hypercalls: console_io write, xen_version, set_trap_table,
  update_va_mapping (accepted; memory is flat), sched_op shutdown;
- exceptions: ring 0 with paging off cannot fault the way ring 1 does, so
  when the traps guest reaches an instruction whose address it stores in
  ``fault_eip`` (found by scanning for ``movl $addr, fault_eip``), the fake
  decodes it and delivers the exception Xen would (vector, error code, CR2
  in shared_info) as a bounce frame, and it performs the handler's ``iret``
  in Python (CS 0xe019 is not a real selector here).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import capstone
from elftools.elf.elffile import ELFFile
from unicorn import UC_ARCH_X86, UC_HOOK_CODE, UC_HOOK_INTR, UC_MODE_32, Uc
from unicorn.x86_const import (
    UC_X86_REG_EAX,
    UC_X86_REG_EBX,
    UC_X86_REG_ECX,
    UC_X86_REG_EDX,
    UC_X86_REG_EFLAGS,
    UC_X86_REG_EIP,
    UC_X86_REG_ESI,
    UC_X86_REG_ESP,
)

FLAT_RING1_CS = 0xE019
UNMAPPED_VA = 0x00400000
ENOSYS = 38
REGION = 0x00400000  # 4 MiB of flat memory at the image base


@dataclass
class Run:
    """What a guest did under the fake."""

    console: str = ""
    shutdown_reason: int | None = None
    traps: dict[int, int] = field(default_factory=dict)  # vector -> handler
    start_info: int = 0
    pt_base: int = 0


def run_guest(
    elf_path: Path,
    *,
    cmdline: str = "",
    nr_pages: int = 1024,
    version: tuple[int, int] = (4, 19),
    extraversion: str = "-fake",
) -> Run:
    """Run the guest until it shuts down; return its console output and state."""
    elf = ELFFile(elf_path.open("rb"))
    symbols = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}
    loads = [p for p in elf.iter_segments() if p["p_type"] == "PT_LOAD"]
    base = min(p["p_vaddr"] for p in loads)
    end = max(p["p_vaddr"] + p["p_memsz"] for p in loads)

    uc = Uc(UC_ARCH_X86, UC_MODE_32)
    uc.mem_map(base, REGION)
    for p in loads:
        uc.mem_write(p["p_vaddr"], p.data())
    hypercall_page = symbols["hypercall_page"]
    for nr in range(128):
        uc.mem_write(hypercall_page + nr * 32, bytes([0xB8, nr, 0, 0, 0, 0xCD, 0x82, 0xC3]))

    # Start-of-day layout after the image: start_info, then the (fake) L3.
    run = Run()
    run.start_info = (end + 0xFFF) & ~0xFFF
    run.pt_base = run.start_info + 0x1000
    si = bytearray(1112)
    si[0:16] = b"xen-3.0-x86_32p\0"
    struct.pack_into("<IIII", si, 32, nr_pages, 0x12345000, 0, 0)
    struct.pack_into("<I", si, 60, run.pt_base)
    si[80 : 80 + len(cmdline)] = cmdline.encode()
    uc.mem_write(run.start_info, bytes(si))
    uc.mem_write(run.pt_base, struct.pack("<Q", 0x1001))

    def u32(addr: int) -> int:
        return struct.unpack("<I", uc.mem_read(addr, 4))[0]

    def hypercall(uc: Uc, intno: int, _: object) -> None:
        if intno != 0x82:
            raise AssertionError(f"unexpected interrupt {intno}")
        nr, a1, a2, a3 = (
            uc.reg_read(r) for r in (UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX)
        )
        result = 0
        if nr == 18 and a1 == 0:  # console_io(write, count, str)
            run.console += bytes(uc.mem_read(a3, a2)).decode()
        elif nr == 17 and a1 == 0:  # xen_version(XENVER_version)
            result = version[0] << 16 | version[1]
        elif nr == 17 and a1 == 1:  # xen_version(XENVER_extraversion)
            uc.mem_write(a2, extraversion.encode().ljust(16, b"\0")[:16])
        elif nr == 0:  # set_trap_table(table)
            while address := u32(a1 + 4):
                run.traps[uc.mem_read(a1, 1)[0]] = address
                a1 += 8
        elif nr == 14:  # update_va_mapping: flat memory
            pass
        elif nr == 29 and a1 == 2:  # sched_op(shutdown, &reason)
            run.shutdown_reason = u32(a2)
            uc.emu_stop()
        else:
            result = -ENOSYS
        uc.reg_write(UC_X86_REG_EAX, result & 0xFFFFFFFF)

    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    md.syntax = capstone.CS_OPT_SYNTAX_ATT

    def push(value: int) -> None:
        esp = uc.reg_read(UC_X86_REG_ESP) - 4
        uc.mem_write(esp, struct.pack("<I", value))
        uc.reg_write(UC_X86_REG_ESP, esp)

    def deliver(vector: int, error: int | None, eip: int) -> None:
        push(uc.reg_read(UC_X86_REG_EFLAGS))
        push(FLAT_RING1_CS | 1 << 16)  # saved upcall mask: 1 (masked)
        push(eip)
        if error is not None:
            push(error)
        uc.reg_write(UC_X86_REG_EIP, run.traps[vector])

    def code(uc: Uc, address: int, size: int, _: object) -> None:
        # Unicorn reports size 0xf1f1f1f1 for ud2, so decode from the bytes.
        insn = next(md.disasm(bytes(uc.mem_read(address, 16)), address))
        if insn.mnemonic == "iretl":  # same-ring iret, done for the CPU
            esp = uc.reg_read(UC_X86_REG_ESP)
            eip, _cs, eflags = struct.unpack("<III", uc.mem_read(esp, 12))
            uc.reg_write(UC_X86_REG_ESP, esp + 12)
            uc.reg_write(UC_X86_REG_EFLAGS, eflags)
            uc.reg_write(UC_X86_REG_EIP, eip)
            return
        if address != u32(symbols["fault_eip"]):
            return
        text = f"{insn.mnemonic} {insn.op_str}"
        if insn.mnemonic == "divl":
            deliver(0, None, address)
        elif insn.mnemonic == "ud2":
            deliver(6, None, address)
        elif insn.mnemonic == "cli" or "%cr3" in text:
            deliver(13, 0, address)
        elif insn.mnemonic == "movl" and insn.op_str.startswith("("):  # load
            uc.mem_write(symbols["shared_info"] + 8, struct.pack("<I", UNMAPPED_VA))
            deliver(14, 0, address)
        elif insn.mnemonic == "movl" and insn.op_str.endswith(")"):  # store
            uc.mem_write(symbols["shared_info"] + 8, struct.pack("<I", run.pt_base))
            deliver(14, 3, address)
        else:
            raise AssertionError(f"no fault known for {text!r} at {address:#x}")

    # Hook only the instructions that matter (a hook on every instruction is slow):
    # each iret, and each instruction whose address the guest stores in fault_eip.
    text = elf.get_section_by_name(".text")
    watched = set()
    for insn in md.disasm(text.data(), text["sh_addr"]):
        if insn.mnemonic == "iretl":
            watched.add(insn.address)
        elif "fault_eip" in symbols and insn.mnemonic == "movl":
            match = re.fullmatch(r"\$(0x[0-9a-f]+), (0x[0-9a-f]+)", insn.op_str)
            if match and int(match[2], 16) == symbols["fault_eip"]:
                watched.add(int(match[1], 16))
    for address in watched:
        uc.hook_add(UC_HOOK_CODE, code, begin=address, end=address)
    uc.hook_add(UC_HOOK_INTR, hypercall)
    uc.reg_write(UC_X86_REG_ESI, run.start_info)
    uc.reg_write(UC_X86_REG_ESP, base + REGION - 16)
    uc.emu_start(elf.header["e_entry"], 0, timeout=20_000_000)
    return run
