"""Machine memory (one zero-copy buffer cut into frames) and the frame allocator."""

from __future__ import annotations

import pytest

from xenlab.abi.layout import PAGE_SIZE
from xenlab.hw.memory import OWNER_FREE, OWNER_XEN, FrameAllocator, MachineMemory, OutOfFrames

DOM1, DOM2 = 1, 2


@pytest.fixture
def memory() -> MachineMemory:
    return MachineMemory(16 * PAGE_SIZE)


# --- MachineMemory ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, -PAGE_SIZE, PAGE_SIZE + 1, PAGE_SIZE // 2])
def test_machine_memory_rejects_a_size_that_is_not_a_positive_multiple_of_4kib(size: int) -> None:
    with pytest.raises(ValueError, match="multiple of 4 KiB"):
        MachineMemory(size)


def test_machine_memory_counts_its_frames(memory: MachineMemory) -> None:
    assert (memory.size, memory.nr_frames) == (16 * PAGE_SIZE, 16)


def test_new_machine_memory_reads_as_zeros(memory: MachineMemory) -> None:
    assert memory.read(0, memory.size) == bytes(memory.size)


def test_bytes_written_read_back_unchanged(memory: MachineMemory) -> None:
    memory.write(0x1FFE, b"\x01\x02\x03\x04")  # across a frame boundary
    assert memory.read(0x1FFE, 4) == b"\x01\x02\x03\x04"


def test_a_u32_round_trips_little_endian(memory: MachineMemory) -> None:
    memory.write_u32(0x100, 0xDEADBEEF)
    assert memory.read_u32(0x100) == 0xDEADBEEF
    assert memory.read(0x100, 4) == b"\xef\xbe\xad\xde"


def test_write_u32_keeps_only_the_low_32_bits(memory: MachineMemory) -> None:
    memory.write_u32(0x100, 0x1_0000_0002)
    assert memory.read_u32(0x100) == 2
    assert memory.read(0x104, 4) == bytes(4)


def test_a_u64_round_trips_little_endian(memory: MachineMemory) -> None:
    memory.write_u64(0x200, 0x8000_0001_2345_6067)
    assert memory.read_u64(0x200) == 0x8000_0001_2345_6067
    assert memory.read_u32(0x200) == 0x2345_6067
    assert memory.read_u32(0x204) == 0x8000_0001


def test_valid_accepts_exactly_the_ranges_inside_memory(memory: MachineMemory) -> None:
    assert memory.valid(0) and memory.valid(memory.size - 8, 8)
    assert not memory.valid(memory.size - 4, 8)
    assert not memory.valid(-1)
    assert not memory.valid(memory.size)


def test_a_frame_view_is_one_page_of_the_same_memory(memory: MachineMemory) -> None:
    view = memory.frame(3)
    assert len(view) == PAGE_SIZE
    view[0:4] = b"abcd"
    assert memory.read(3 * PAGE_SIZE, 4) == b"abcd"
    memory.write_u32(3 * PAGE_SIZE + PAGE_SIZE - 4, 0x11223344)
    assert bytes(view[-4:]) == b"\x44\x33\x22\x11"


def test_clear_frame_zeroes_one_frame_and_nothing_else(memory: MachineMemory) -> None:
    memory.write(PAGE_SIZE - 1, b"\xff" * (PAGE_SIZE + 2))
    memory.clear_frame(1)
    assert memory.read(PAGE_SIZE, PAGE_SIZE) == bytes(PAGE_SIZE)
    assert memory.read(PAGE_SIZE - 1, 1) == b"\xff"
    assert memory.read(2 * PAGE_SIZE, 1) == b"\xff"


def test_machine_memory_has_a_host_address_for_unicorn(memory: MachineMemory) -> None:
    assert memory.address() % PAGE_SIZE == 0


# --- FrameAllocator --------------------------------------------------------------------------


def test_an_allocation_records_its_owner() -> None:
    frames = FrameAllocator(64)
    mfns = frames.alloc(DOM1, 3)
    assert len(set(mfns)) == 3
    assert all(frames.owner[mfn] == DOM1 for mfn in mfns)
    assert frames.owned_by(DOM1) == sorted(mfns)
    assert frames.nr_free == 61


def test_two_owners_never_share_a_frame() -> None:
    frames = FrameAllocator(64)
    assert not set(frames.alloc(DOM1, 20)) & set(frames.alloc(DOM2, 20))


def test_a_domains_frames_are_discontiguous() -> None:
    mfns = FrameAllocator(1024).alloc(DOM1, 16)
    assert sorted(mfns) != list(range(min(mfns), min(mfns) + 16))


def test_two_allocators_with_the_same_seed_hand_out_the_same_frames() -> None:
    first, second = FrameAllocator(1024, seed=7), FrameAllocator(1024, seed=7)
    assert first.alloc(DOM1, 32) == second.alloc(DOM1, 32)


def test_a_different_seed_scatters_frames_differently() -> None:
    first, second = FrameAllocator(1024, seed=1), FrameAllocator(1024, seed=2)
    assert first.alloc(DOM1, 32) != second.alloc(DOM1, 32)


def test_a_freed_frame_is_free_again_and_can_be_reallocated() -> None:
    frames = FrameAllocator(64)
    (mfn,) = frames.alloc(DOM1)
    frames.free(mfn)
    assert frames.owner[mfn] == OWNER_FREE
    assert frames.nr_free == 64
    assert mfn in frames.alloc(DOM2, 64)


def test_freeing_a_frame_twice_raises() -> None:
    frames = FrameAllocator(64)
    (mfn,) = frames.alloc(DOM1)
    frames.free(mfn)
    with pytest.raises(ValueError, match="already free"):
        frames.free(mfn)
    assert frames.nr_free == 64


def test_freeing_a_frame_never_allocated_raises() -> None:
    frames = FrameAllocator(64)
    with pytest.raises(ValueError):
        frames.free(5)


def test_asking_for_more_frames_than_are_free_raises_out_of_frames_and_takes_none() -> None:
    frames = FrameAllocator(8)
    frames.alloc(DOM1, 5)
    with pytest.raises(OutOfFrames):
        frames.alloc(DOM2, 4)
    assert frames.nr_free == 3
    assert frames.owned_by(DOM2) == []


def test_an_exhausted_allocator_raises_out_of_frames() -> None:
    frames = FrameAllocator(8)
    frames.alloc(DOM1, 8)
    with pytest.raises(OutOfFrames):
        frames.alloc(DOM1)


def test_out_of_frames_is_a_memory_error() -> None:
    assert issubclass(OutOfFrames, MemoryError)


def test_reserved_low_frames_belong_to_xen_and_are_never_handed_out() -> None:
    frames = FrameAllocator(32, reserved_low=4)
    assert frames.owned_by(OWNER_XEN) == [0, 1, 2, 3]
    assert frames.nr_free == 28
    assert min(frames.alloc(DOM1, 28)) == 4
