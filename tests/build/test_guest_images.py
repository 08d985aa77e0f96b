"""What the built images contain: Xen's ELF notes, the segments the domain
builder loads, the entry code, and nothing the toolchain must not emit."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import capstone
import pytest
from elftools.elf.elffile import ELFFile

from xenlab.build import list_guests

GUESTS = [guest.name for guest in list_guests()]
VIRT_BASE = 0xC0000000
HYPERCALL_PAGE_SIZE = 4096

# (type, expected value): strings carry their NUL, numbers are 4-byte little-endian.
STRING_NOTES = {
    6: b"xenlab\0",  # GUEST_OS
    7: b"0.1\0",  # GUEST_VERSION
    5: b"xen-3.0\0",  # XEN_VERSION
    8: b"generic\0",  # LOADER
    9: b"yes\0",  # PAE_MODE
    10: b"pae_pgdir_above_4gb\0",  # FEATURES
}


def open_elf(path: Path) -> ELFFile:
    return ELFFile(path.open("rb"))


def xen_notes(elf: ELFFile) -> dict[int, bytes]:
    """{type: desc} of the notes named "Xen", parsed from PT_NOTE as a loader would
    (pyelftools renames types it knows as GNU notes, so it is not used here)."""
    notes: dict[int, bytes] = {}
    for segment in elf.iter_segments():
        if segment["p_type"] != "PT_NOTE":
            continue
        data, pos = segment.data(), 0
        while pos < len(data):
            namesz, descsz, note_type = struct.unpack_from("<III", data, pos)
            pos += 12
            name = data[pos : pos + namesz]
            pos += (namesz + 3) & ~3
            if name == b"Xen\0":
                notes[note_type] = data[pos : pos + descsz]
            pos += (descsz + 3) & ~3
    return notes


def symbols(elf: ELFFile) -> dict[str, int]:
    return {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}


def disassemble(elf: ELFFile, start: int, length: int) -> list[capstone.CsInsn]:
    text = elf.get_section_by_name(".text")
    offset = start - text["sh_addr"]
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32)
    md.syntax = capstone.CS_OPT_SYNTAX_ATT
    return list(md.disasm(text.data()[offset : offset + length], start))


@pytest.mark.parametrize("name", GUESTS)
def test_each_guest_carries_the_xen_elf_notes_with_the_expected_values(
    name: str, built_guests: dict[str, Path]
) -> None:
    elf = open_elf(built_guests[name])
    notes = xen_notes(elf)
    for note_type, value in STRING_NOTES.items():
        assert notes[note_type] == value, note_type
    syms = symbols(elf)
    numbers = {t: int.from_bytes(notes[t], "little") for t in (1, 2, 3, 4)}
    assert all(len(notes[t]) == 4 for t in numbers)
    assert numbers[3] == VIRT_BASE  # VIRT_BASE
    assert numbers[4] == VIRT_BASE  # PADDR_OFFSET: p_paddr - 0xC0000000 = pseudo-physical
    assert numbers[1] == elf.header["e_entry"] == syms["_start"]  # ENTRY
    assert numbers[2] == syms["hypercall_page"]  # HYPERCALL_PAGE


@pytest.mark.parametrize("name", GUESTS)
def test_the_notes_are_also_in_a_note_section_with_four_byte_alignment(
    name: str, built_guests: dict[str, Path]
) -> None:
    elf = open_elf(built_guests[name])
    section = elf.get_section_by_name(".note.Xen")
    assert section is not None and section["sh_type"] == "SHT_NOTE"
    assert {note["n_name"] for note in section.iter_notes()} == {"Xen"}
    assert section["sh_addralign"] == 4


@pytest.mark.parametrize("name", GUESTS)
def test_program_headers_are_text_rx_then_data_rw_then_the_notes(
    name: str, built_guests: dict[str, Path]
) -> None:
    elf = open_elf(built_guests[name])
    segments = list(elf.iter_segments())
    assert [s["p_type"] for s in segments] == ["PT_LOAD", "PT_LOAD", "PT_NOTE"]
    text, data, note = segments
    assert text["p_flags"] == 5 and data["p_flags"] == 6 and note["p_flags"] == 4  # RX, RW, R
    assert text["p_vaddr"] == VIRT_BASE
    assert text["p_offset"] >= 4096  # the ELF and program headers are not loaded
    assert data["p_vaddr"] % 4096 == 0 and data["p_vaddr"] >= text["p_vaddr"] + text["p_memsz"]
    for load in (text, data):
        assert load["p_paddr"] == load["p_vaddr"]
        assert load["p_align"] == 4096
    assert text["p_vaddr"] <= note["p_vaddr"] < text["p_vaddr"] + text["p_filesz"]


@pytest.mark.parametrize("name", GUESTS)
def test_the_hypercall_page_is_one_aligned_page_of_int3_in_the_text_segment(
    name: str, built_guests: dict[str, Path]
) -> None:
    elf = open_elf(built_guests[name])
    page = symbols(elf)["hypercall_page"]
    text = elf.get_section_by_name(".text")
    assert page % 4096 == 0
    offset = page - text["sh_addr"]
    assert text.data()[offset : offset + HYPERCALL_PAGE_SIZE] == b"\xcc" * HYPERCALL_PAGE_SIZE


@pytest.mark.parametrize("name", GUESTS)
def test_shared_info_is_a_page_aligned_page_of_its_own(
    name: str, built_guests: dict[str, Path]
) -> None:
    elf = open_elf(built_guests[name])
    syms = symbols(elf)
    shared = syms["shared_info"]
    assert shared % 4096 == 0
    assert not any(shared < value < shared + 4096 for value in syms.values())
    bss = elf.get_section_by_name(".bss")
    assert bss["sh_addr"] <= shared < bss["sh_addr"] + bss["sh_size"]


@pytest.mark.parametrize("name", GUESTS)
def test_start_moves_to_its_own_stack_and_passes_esi_to_start_kernel(
    name: str, built_guests: dict[str, Path]
) -> None:
    elf = open_elf(built_guests[name])
    syms = symbols(elf)
    code = [(i.mnemonic, i.op_str) for i in disassemble(elf, syms["_start"], 0x21)]
    assert code[:6] == [
        ("cld", ""),
        ("movl", f"${syms['stack_top']:#x}, %esp"),
        ("xorl", "%ebp, %ebp"),
        ("subl", "$0xc, %esp"),
        ("pushl", "%esi"),
        ("calll", f"{syms['start_kernel']:#x}"),
    ]
    # If start_kernel returns: sched_op(SCHEDOP_shutdown, {SHUTDOWN_crash}), forever.
    assert code[6:10] == [
        ("pushl", "$3"),
        ("movl", "%esp, %ecx"),
        ("movl", "$2, %ebx"),
        ("calll", f"{syms['hypercall_page'] + 29 * 32:#x}"),
    ]


@pytest.mark.parametrize("name", GUESTS)
def test_every_call_into_the_hypercall_page_lands_on_a_stub_boundary(
    name: str, built_guests: dict[str, Path]
) -> None:
    elf = open_elf(built_guests[name])
    page = symbols(elf)["hypercall_page"]
    text = elf.get_section_by_name(".text")
    targets = [
        int(insn.op_str, 16)
        for insn in disassemble(elf, text["sh_addr"], text["sh_size"])
        if insn.mnemonic == "calll" and insn.op_str.startswith("0x")
    ]
    stubs = [t for t in targets if page <= t < page + HYPERCALL_PAGE_SIZE]
    assert stubs, "no hypercalls found"
    assert all((t - page) % 32 == 0 for t in stubs)


@pytest.mark.parametrize("name", GUESTS)
def test_no_sse_or_mmx_instructions_in_the_code(name: str, built_guests: dict[str, Path]) -> None:
    elf = open_elf(built_guests[name])
    text = elf.get_section_by_name(".text")
    vector = re.compile(r"%[xy]?mm\d")
    bad = [
        f"{i.address:#x}: {i.mnemonic} {i.op_str}"
        for i in disassemble(elf, text["sh_addr"], text["sh_size"])
        if vector.search(i.op_str)
    ]
    assert not bad


@pytest.mark.parametrize("name", GUESTS)
def test_no_unwind_tables_or_toolchain_comments_are_linked_in(
    name: str, built_guests: dict[str, Path]
) -> None:
    elf = open_elf(built_guests[name])
    names = {section.name for section in elf.iter_sections()}
    assert not names & {".eh_frame", ".eh_frame_hdr", ".comment", ".debug_info", ".debug_line"}


@pytest.mark.parametrize("name", GUESTS)
def test_the_image_holds_no_file_system_paths(name: str, built_guests: dict[str, Path]) -> None:
    image = built_guests[name].read_bytes()
    repo = Path(__file__).resolve().parents[2]
    for path in (repo, built_guests[name].parents[2], Path.home()):
        assert str(path).encode() not in image
