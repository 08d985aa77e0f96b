"""The frame table's rules (paper §3.3.3), pinned down one by one on a real domain's
frames, with the invariant checker run after each."""

from __future__ import annotations

import pytest

from xenlab.abi import errno
from xenlab.build import build_guest
from xenlab.hw import x86
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.frametable import PageType
from xenlab.xen.hypervisor import Xen
from xenlab.xen.mm import GuestFault, new_baseptr, pin_table, unpin_table

RW = x86.PTE_P | x86.PTE_RW | x86.PTE_US
RO = x86.PTE_P | x86.PTE_US


@pytest.fixture
def world():
    """A hypervisor with two built (not yet run) domains; returns (xen, a, b)."""
    xen = Xen(machine_mib=32)
    image = load_kernel_image(build_guest("hello"))
    a = build_domain(xen, image, name="a", memory_mib=4)
    b = build_domain(xen, image, name="b", memory_mib=4)
    yield xen, a, b
    assert xen.check_invariants() == []


def spare(domain, k: int = 1) -> int:
    """A frame of ``domain`` that nothing maps at boot (its last pages)."""
    return domain.p2m[-k]


def write_entry(xen, table: int, index: int, entry: int) -> None:
    xen.machine.memory.write_u64((table << 12) + 8 * index, entry)


def test_the_builder_leaves_a_pinned_validated_tree(world) -> None:
    xen, a, _ = world
    ft = xen.frametable
    l3 = a.vcpu.baseptr
    assert ft.type[l3] == PageType.L3 and ft.pinned[l3]
    assert ft.type_count[l3] == 2  # pinned + base pointer
    assert xen.check_invariants() == []


def test_a_frame_with_a_type_in_use_cannot_take_another(world) -> None:
    xen, a, _ = world
    ft = xen.frametable
    frame = spare(a)
    assert ft.get_page_and_type(frame, PageType.WRITABLE, a.domid) == 0
    assert ft.get_page_type(frame, PageType.L1, a.domid) == -errno.EINVAL
    ft.put_page_and_type(frame, a.domid)
    assert ft.get_page_and_type(frame, PageType.L1, a.domid) == 0  # count 0: retyping allowed
    ft.put_page_and_type(frame, a.domid)


def test_a_domain_cannot_reference_a_frame_it_does_not_own(world) -> None:
    xen, a, b = world
    ft = xen.frametable
    assert not ft.get_page(spare(b), a.domid)
    assert not ft.get_page(0, a.domid)  # frame 0 is Xen's
    assert not ft.get_page(xen.machine.memory.nr_frames + 5, a.domid)


def test_validating_an_l1_takes_a_reference_per_mapping_and_a_type_per_writable_one(world) -> None:
    xen, a, _ = world
    ft = xen.frametable
    table, ro_target, rw_target = spare(a, 1), spare(a, 2), spare(a, 3)
    write_entry(xen, table, 0, x86.pte(ro_target << 12, RO))
    write_entry(xen, table, 1, x86.pte(rw_target << 12, RW))
    assert pin_table(a, table, PageType.L1) == 0
    assert (ft.count[ro_target], ft.type_count[ro_target]) == (2, 0)
    assert (ft.count[rw_target], ft.type[rw_target]) == (2, PageType.WRITABLE)
    assert xen.check_invariants() == []
    assert unpin_table(a, table) == 0
    assert ft.count[ro_target] == ft.count[rw_target] == 1  # references dropped again
    assert ft.type[rw_target] == PageType.NONE


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(lambda d, b: x86.pte(spare(b) << 12, RO), id="a frame of another domain"),
        pytest.param(lambda d, b: x86.pte(0, RO), id="a frame of Xen's"),
        pytest.param(lambda d, b: x86.pte(spare(d, 2) << 12, RO) | 1 << 55, id="reserved bit"),
        pytest.param(lambda d, b: x86.pte(spare(d, 2) << 12, RO) | x86.PTE_NX, id="NX bit"),
        pytest.param(lambda d, b: x86.pte(d.vcpu.baseptr << 12, RW), id="its own L3, writable"),
    ],
)
def test_an_l1_with_a_forbidden_entry_does_not_validate_and_leaves_no_trace(world, entry) -> None:
    xen, a, b = world
    ft = xen.frametable
    table = spare(a)
    write_entry(xen, table, 0, x86.pte(spare(a, 3) << 12, RW))  # a good entry first
    write_entry(xen, table, 7, entry(a, b))
    assert pin_table(a, table, PageType.L1) == -errno.EINVAL
    assert not ft.pinned[table] and ft.type_count[table] == 0
    assert ft.count[spare(a, 3)] == 1  # the good entry's reference was undone


def test_an_l2_entry_must_point_at_an_l1_so_linear_page_tables_are_refused(world) -> None:
    xen, a, _ = world
    table = spare(a)
    top_l2 = x86.pte_maddr(xen.machine.memory.read_u64((a.vcpu.baseptr << 12) + 24)) >> 12
    write_entry(xen, table, 0, x86.pte(top_l2 << 12, x86.PTE_P))  # an L2 inside an L2
    assert pin_table(a, table, PageType.L2) == -errno.EINVAL


def test_large_pages_and_bad_l3_bits_are_refused(world) -> None:
    xen, a, _ = world
    l2, l3, l1 = spare(a, 1), spare(a, 2), spare(a, 3)
    write_entry(xen, l2, 0, x86.pte(l1 << 12, x86.PTE_P | x86.PTE_PSE))
    assert pin_table(a, l2, PageType.L2) == -errno.EINVAL
    write_entry(xen, l2, 0, 0)
    write_entry(xen, l3, 0, x86.pte(l2 << 12, x86.PTE_P | x86.PTE_US))  # US: reserved in a PDPTE
    assert pin_table(a, l3, PageType.L3) == -errno.EINVAL


def test_xens_slots_of_a_top_l2_are_installed_on_validation_and_cannot_be_changed(world) -> None:
    xen, a, _ = world
    ft = xen.frametable
    top_l2 = x86.pte_maddr(xen.machine.memory.read_u64((a.vcpu.baseptr << 12) + 24)) >> 12
    assert ft.type[top_l2] == PageType.L2_XEN
    hole = xen.hole.xen_l2_entries(a.perdomain_l1)
    for slot, entry in hole.items():
        assert xen.machine.memory.read_u64((top_l2 << 12) + 8 * slot) == entry
        assert ft.mod_entry(top_l2, slot, 0, a.domid) == -errno.EINVAL


def test_a_new_base_pointer_must_validate_and_the_old_one_loses_a_reference(world) -> None:
    xen, a, b = world
    ft = xen.frametable
    old = a.vcpu.baseptr
    assert new_baseptr(a.vcpu, spare(b)) == -errno.EINVAL  # not a's frame
    assert a.vcpu.baseptr == old
    fresh = spare(a)
    top_l2_entry = xen.machine.memory.read_u64((old << 12) + 24)
    write_entry(xen, fresh, 3, top_l2_entry)
    xen._current[0] = a.vcpu
    assert new_baseptr(a.vcpu, fresh) == 0
    assert ft.type_count[old] == 1  # only the pin is left
    assert new_baseptr(a.vcpu, old) == 0
    assert ft.type_count[fresh] == 0 and ft.type[fresh] == PageType.NONE


def test_guest_memory_refuses_addresses_a_guest_may_not_hand_xen(world) -> None:
    _, a, _ = world
    for va, length in ((0x00400000, 4), (0xF5800000, 4), (0xF57FFFFE, 4), (0xC0000000, 2 << 20)):
        with pytest.raises(GuestFault):
            a.guest_memory.read(va, length)
