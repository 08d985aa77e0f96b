"""Machine memory: one zero-copy buffer shared by Unicorn and Python, cut into 4 KiB frames.

The buffer is an anonymous ``mmap`` handed to Unicorn with ``mem_map_ptr``, so a store from
Python is instantly visible to the emulated CPU and vice versa (field notes: "What maps
naturally").  Pages are committed lazily by the host kernel, so a large machine costs little
until it is touched.

Frames are handed out by a :class:`FrameAllocator` that records each frame's owner (a domain
id, or :data:`OWNER_XEN` for the hypervisor's own frames).  The richer per-frame state Xen
keeps (type, type count, reference count) is the hypervisor's business and lives in
``xenlab.xen``; the hardware only knows who holds a frame.
"""

from __future__ import annotations

import mmap
import random
import struct
import sys

from xenlab.abi.layout import PAGE_SHIFT, PAGE_SIZE

OWNER_FREE = -1
OWNER_XEN = 0x7FF2  # DOMID_XEN: frames the hypervisor keeps for itself
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class OutOfFrames(MemoryError):
    """Raised when the allocator cannot satisfy a request."""


class MachineMemory:
    """``size`` bytes of machine memory starting at machine address 0."""

    def __init__(self, size: int) -> None:
        if size <= 0 or size % PAGE_SIZE:
            raise ValueError(f"machine memory must be a positive multiple of 4 KiB, not {size}")
        self.size = size
        self.nr_frames = size >> PAGE_SHIFT
        self._mmap = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.view = memoryview(self._mmap)
        # The same memory as 64-bit words (host order, which must be the guest's: x86 is
        # little-endian): ``u64[maddr >> 3]`` is the fastest way to a page-table entry.
        if sys.byteorder != "little":
            raise RuntimeError("xenlab needs a little-endian host")
        self.u64 = self.view.cast("Q")

    # The buffer's address, for Unicorn's mem_map_ptr.
    def address(self) -> int:
        import ctypes

        return ctypes.addressof(ctypes.c_char.from_buffer(self._mmap))

    def valid(self, maddr: int, length: int = 1) -> bool:
        return maddr >= 0 and length >= 0 and maddr + length <= self.size

    def read(self, maddr: int, length: int) -> bytes:
        return bytes(self.view[maddr : maddr + length])

    def write(self, maddr: int, data: bytes) -> None:
        self.view[maddr : maddr + len(data)] = data

    def read_u32(self, maddr: int) -> int:
        return _U32.unpack_from(self._mmap, maddr)[0]

    def write_u32(self, maddr: int, value: int) -> None:
        _U32.pack_into(self._mmap, maddr, value & 0xFFFFFFFF)

    def read_u64(self, maddr: int) -> int:
        return _U64.unpack_from(self._mmap, maddr)[0]

    def write_u64(self, maddr: int, value: int) -> None:
        _U64.pack_into(self._mmap, maddr, value)

    def frame(self, mfn: int) -> memoryview:
        """A writable view of one frame."""
        base = mfn << PAGE_SHIFT
        return self.view[base : base + PAGE_SIZE]

    def clear_frame(self, mfn: int) -> None:
        base = mfn << PAGE_SHIFT
        self.view[base : base + PAGE_SIZE] = bytes(PAGE_SIZE)


class FrameAllocator:
    """Hands out machine frames and remembers who owns each.

    Free frames come out in a seeded stride order (frame k, k+s, k+2s, ... modulo the
    machine size, s a prime): a domain's frames are scattered across machine memory, which is
    what paper §2.1.1 means by "a domain's machine pages may be discontiguous", and the fixed
    seed keeps every run identical.  (A full shuffle would cost 30 ms for a 256 MiB machine.)
    """

    _STRIDES = (7919, 7907, 7901, 7883, 7879, 7877, 7873, 7867)  # primes

    def __init__(self, nr_frames: int, *, reserved_low: int = 0, seed: int = 2003) -> None:
        self.owner = [OWNER_FREE] * nr_frames
        n = nr_frames - reserved_low
        rng = random.Random(seed)
        stride = rng.choice([p for p in self._STRIDES if n % p]) if n > 1 else 1
        offset = rng.randrange(n) if n > 0 else 0
        # Popped from the end: the first frame handed out is free[-1].
        self._free = [reserved_low + (offset + i * stride) % n for i in range(n - 1, -1, -1)]
        for mfn in range(reserved_low):
            self.owner[mfn] = OWNER_XEN

    @property
    def nr_free(self) -> int:
        return len(self._free)

    def alloc(self, owner: int, count: int = 1) -> list[int]:
        if count > len(self._free):
            raise OutOfFrames(f"{count} frames wanted, {len(self._free)} free")
        mfns = [self._free.pop() for _ in range(count)]
        for mfn in mfns:
            self.owner[mfn] = owner
        return mfns

    def free(self, mfn: int) -> None:
        if self.owner[mfn] == OWNER_FREE:
            raise ValueError(f"frame {mfn:#x} is already free")
        self.owner[mfn] = OWNER_FREE
        self._free.append(mfn)

    def owned_by(self, owner: int) -> list[int]:
        return [mfn for mfn, o in enumerate(self.owner) if o == owner]
