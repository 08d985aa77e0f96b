"""The validation rules of update_va_mapping (simplified for the foundation issue) and of
guest-memory access, pinned down one by one."""

from __future__ import annotations

import pytest

from xenlab.abi import errno
from xenlab.build import build_guest
from xenlab.hw import x86
from xenlab.hw.memory import OWNER_XEN, FrameAllocator
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen
from xenlab.xen.mm import GuestFault, check_l1_entry

DOMID = 5


@pytest.fixture
def frames() -> FrameAllocator:
    allocator = FrameAllocator(64, reserved_low=2)
    allocator.alloc(DOMID, 10)
    allocator.alloc(6, 10)
    return allocator


def _frame_of(frames: FrameAllocator, owner: int) -> int:
    return frames.owned_by(owner)[0]


def test_a_not_present_entry_is_always_accepted(frames: FrameAllocator) -> None:
    assert check_l1_entry(0xDEADB000, DOMID, frames, set()) == 0


def test_mapping_an_own_frame_is_accepted(frames: FrameAllocator) -> None:
    mfn = _frame_of(frames, DOMID)
    assert check_l1_entry(x86.pte(mfn << 12, 7), DOMID, frames, set()) == 0


@pytest.mark.parametrize("owner", [6, OWNER_XEN], ids=["another domain", "xen"])
def test_mapping_a_frame_the_domain_does_not_own_is_refused(
    frames: FrameAllocator, owner: int
) -> None:
    mfn = _frame_of(frames, owner)
    assert check_l1_entry(x86.pte(mfn << 12, 1), DOMID, frames, set()) == -errno.EINVAL


def test_mapping_a_free_frame_or_one_beyond_memory_is_refused(frames: FrameAllocator) -> None:
    free = next(m for m, o in enumerate(frames.owner) if o == -1)
    assert check_l1_entry(x86.pte(free << 12, 1), DOMID, frames, set()) == -errno.EINVAL
    assert check_l1_entry(x86.pte(1 << 30, 1), DOMID, frames, set()) == -errno.EINVAL


def test_a_page_table_frame_may_be_mapped_read_only_but_never_writable(
    frames: FrameAllocator,
) -> None:
    mfn = _frame_of(frames, DOMID)
    assert check_l1_entry(x86.pte(mfn << 12, x86.PTE_P), DOMID, frames, {mfn}) == 0
    writable = x86.pte(mfn << 12, x86.PTE_P | x86.PTE_RW)
    assert check_l1_entry(writable, DOMID, frames, {mfn}) == -errno.EINVAL


@pytest.mark.parametrize("bit", [52, 62, 63], ids=["bit 52", "bit 62", "NX"])
def test_reserved_pte_bits_are_refused(frames: FrameAllocator, bit: int) -> None:
    mfn = _frame_of(frames, DOMID)
    assert check_l1_entry(x86.pte(mfn << 12, 1) | 1 << bit, DOMID, frames, set()) == -errno.EINVAL


@pytest.fixture(scope="module")
def domain():
    xen = Xen(machine_mib=16)
    return build_domain(xen, load_kernel_image(build_guest("hello")), name="hello", memory_mib=4)


def test_guest_memory_reads_through_the_guests_own_page_tables(domain) -> None:
    # start_info follows the kernel and the mfn list; find it by its magic.
    guest = domain.guest_memory
    pages = (guest.read(va, 15) for va in range(0xC0000000, 0xC0100000, 0x1000))
    assert b"xen-3.0-x86_32p" in pages


@pytest.mark.parametrize(
    "va, length",
    [(0x00400000, 4), (0xF5800000, 4), (0xF57FFFFE, 4), (0xC0000000, 2 << 20)],
    ids=["unmapped", "hypervisor hole", "straddles the hole", "longer than a copy may be"],
)
def test_guest_memory_refuses_addresses_a_guest_may_not_hand_xen(
    domain, va: int, length: int
) -> None:
    with pytest.raises(GuestFault):
        domain.guest_memory.read(va, length)


def test_guest_memory_refuses_to_write_a_read_only_page_table(domain) -> None:
    pt_frame = next(iter(domain.page_table_frames))
    pfn = domain.p2m.index(pt_frame)
    with pytest.raises(GuestFault, match="not writable"):
        domain.guest_memory.write(0xC0000000 + (pfn << 12), b"\0" * 8)
