"""Pure x86 encodings (xenlab.hw.x86): segment descriptors, PAE entries and indices, CR3."""

from __future__ import annotations

import pytest

from xenlab.abi import layout
from xenlab.hw import x86

CODE = x86.DESC_TYPE_CODE_RX | x86.DESC_ACCESSED
DATA = x86.DESC_TYPE_DATA_RW | x86.DESC_ACCESSED


def test_a_data_descriptor_round_trips_through_encode_and_decode() -> None:
    raw = x86.encode_descriptor(0x12345678, 0xABCDE, type_=DATA, dpl=1)
    assert len(raw) == 8
    assert x86.decode_descriptor(raw) == x86.SegmentDescriptor(
        base=0x12345678,
        limit=0xABCDE,
        type=DATA,
        s=True,
        dpl=1,
        present=True,
        db=True,
        granularity=False,
    )


@pytest.mark.parametrize("dpl", [0, 1, 2, 3])
def test_a_code_descriptor_keeps_its_dpl_and_type(dpl: int) -> None:
    desc = x86.decode_descriptor(x86.encode_descriptor(0, 0xFFFFF, type_=CODE, dpl=dpl))
    assert (desc.dpl, desc.type, desc.s, desc.present) == (dpl, CODE, True, True)


def test_a_flat_4gib_code_descriptor_has_the_textbook_encoding() -> None:
    raw = x86.encode_descriptor(0, 0xFFFFFFFF, type_=x86.DESC_TYPE_CODE_RX, dpl=0)
    assert raw == (0x00CF9A000000FFFF).to_bytes(8, "little")


@pytest.mark.parametrize("base", [0, 0xFF, 0x10000, 0x00FF0000, 0xFF000000, 0xF5800000])
def test_every_byte_of_the_base_survives_the_round_trip(base: int) -> None:
    assert x86.decode_descriptor(x86.encode_descriptor(base, 0xFFF, type_=DATA, dpl=3)).base == base


@pytest.mark.parametrize("limit", [0, 0xFFF, 0x12345, 0xFFFFF])
def test_a_limit_up_to_1mib_is_byte_granular_and_exact(limit: int) -> None:
    desc = x86.decode_descriptor(x86.encode_descriptor(0, limit, type_=DATA, dpl=1))
    assert (desc.granularity, desc.limit) == (False, limit)


@pytest.mark.parametrize("limit", [0x100FFF, layout.GUEST_SEGMENT_MAX_ADDR - 1, 0xFFFFFFFF])
def test_a_page_aligned_limit_above_1mib_uses_4kib_granularity_and_is_exact(limit: int) -> None:
    desc = x86.decode_descriptor(x86.encode_descriptor(0, limit, type_=DATA, dpl=1))
    assert (desc.granularity, desc.limit) == (True, limit)


def test_a_granular_limit_reaches_the_end_of_its_last_page() -> None:
    desc = x86.decode_descriptor(x86.encode_descriptor(0, 0x200000, type_=DATA, dpl=1))
    assert desc.limit == 0x200FFF


def test_a_system_descriptor_decodes_with_s_clear() -> None:
    desc = x86.decode_descriptor(x86.encode_descriptor(0x1000, 0x67, type_=0x9, dpl=0, s=False))
    assert (desc.s, desc.type, desc.base, desc.limit) == (False, 0x9, 0x1000, 0x67)


def test_a_not_present_descriptor_decodes_as_not_present() -> None:
    raw = bytearray(x86.encode_descriptor(0, 0xFFFFF, type_=DATA, dpl=1))
    raw[5] &= ~x86.DESC_P & 0xFF
    assert x86.decode_descriptor(bytes(raw)).present is False


def test_selectors_split_into_index_and_rpl() -> None:
    assert x86.selector(0x1C03, 1) == layout.FLAT_RING1_CS
    assert x86.selector_index(layout.FLAT_RING3_DS) == 0x1C06
    assert x86.selector_rpl(layout.FLAT_RING3_DS) == 3


def test_a_pte_combines_a_frame_address_and_flags() -> None:
    assert x86.pte(0x12345000, x86.PTE_P | x86.PTE_RW) == 0x12345003


def test_a_pte_drops_the_offset_bits_of_the_address() -> None:
    assert x86.pte(0x12345FFF, x86.PTE_P) == 0x12345001


def test_a_pte_can_point_above_4gib() -> None:
    entry = x86.pte(0x1_2345_6000, x86.PTE_P)
    assert x86.pte_maddr(entry) == 0x1_2345_6000


def test_pte_maddr_ignores_flags_and_the_nx_bit() -> None:
    entry = x86.PTE_NX | 0xABCDE000 | x86.PTE_P | x86.PTE_RW | x86.PTE_US | x86.PTE_AVAIL
    assert x86.pte_maddr(entry) == 0xABCDE000


def test_the_index_helpers_split_a_virtual_address_into_table_slots() -> None:
    va = (2 << 30) | (5 << 21) | (7 << 12) | 0x123
    assert (x86.l3_index(va), x86.l2_index(va), x86.l1_index(va)) == (2, 5, 7)


def test_the_hypervisor_hole_starts_in_slot_428_of_the_fourth_l2() -> None:
    va = layout.HYPERVISOR_VIRT_START
    assert (x86.l3_index(va), x86.l2_index(va), x86.l1_index(va)) == (3, 428, 0)


def test_the_last_page_of_the_address_space_is_in_the_last_slot_of_every_level() -> None:
    va = 0xFFFFFFFF
    assert (x86.l3_index(va), x86.l2_index(va), x86.l1_index(va)) == (3, 511, 511)


def test_a_pfn_below_2_to_the_20_gives_a_plain_page_aligned_cr3() -> None:
    assert x86.xen_pfn_to_cr3(0x12345) == 0x12345000


@pytest.mark.parametrize(
    "pfn",
    [
        0,
        1,
        0x12345,
        0xFFFFF,
        1 << 20,
        0x123456,
        0xFFFFFFFF,
    ],
)
def test_xen_cr3_to_pfn_undoes_xen_pfn_to_cr3(pfn: int) -> None:
    cr3 = x86.xen_pfn_to_cr3(pfn)
    assert 0 <= cr3 <= 0xFFFFFFFF
    assert x86.xen_cr3_to_pfn(cr3) == pfn


def test_a_pfn_above_2_to_the_20_folds_its_high_bits_into_the_low_bits_of_cr3() -> None:
    assert x86.xen_pfn_to_cr3(0x123456) == 0x23456001
