"""Virtual block devices as domain 0 keeps them: lists of extents of real host files.

Paper §3.3.6: only domain 0 touches the disk; every other domain sees *virtual block
devices*, each "a list of extents" of the real disk "with associated ownership and access
control information", and Xen (here: domain 0's back end) translates the guest's sector
numbers into positions on the disk.  xenlab's disk is the host's file system: an extent is
``(path, offset, length)`` bytes of a host file, and a VBD's sectors are its extents laid
end to end, so one file can hold several domains' VBDs side by side, none able to reach past
its own extents.

Who calls what: ``block.attach_disk`` builds a :class:`Vbd` from a domain's configuration;
the back end (``blkback``) asks it for the file pieces of a request (:meth:`Vbd.pieces`) and
moves data between those pieces and the guest's frames with :meth:`Vbd.readinto` and
:meth:`Vbd.write` (``os.preadv``/``os.pwritev`` straight into machine memory: the "DMA" of
§3.3.6, with no intermediate copy); :meth:`Vbd.flush` is ``fsync`` of every file behind it.
Each file is opened once, when the VBD is made (read-only VBDs open it read-only).
"""

from __future__ import annotations

import bisect
import os
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SECTOR_SIZE = 512  # the unit of block I/O (blkif's sectors are always 512 bytes)

FileKey = tuple[int, int]  # (st_dev, st_ino): one host file, however it was named


class VbdError(Exception):
    """A request the VBD cannot carry out (outside its sectors, or the host file failed)."""


@dataclass(frozen=True)
class Extent:
    """``length`` bytes of the host file ``path`` from byte ``offset``."""

    path: Path
    offset: int
    length: int


@dataclass(frozen=True)
class Piece:
    """The part of a request that falls in one extent: ``length`` bytes at ``offset`` in
    the file open as ``fd`` (``file`` names the file for the elevator's ordering)."""

    fd: int
    file: FileKey
    offset: int
    length: int


class Vbd:
    """A virtual disk: the guest's sector ``s`` is byte ``s * 512`` of the concatenated
    extents.  ``readonly`` VBDs refuse writes (the back end answers BLKIF_RSP_ERROR)."""

    def __init__(
        self, extents: Iterable[tuple[str | os.PathLike[str], int, int]], readonly: bool = False
    ) -> None:
        self.readonly = readonly
        self.extents: tuple[Extent, ...] = tuple(
            Extent(Path(path), int(offset), int(length)) for path, offset, length in extents
        )
        if not self.extents:
            raise ValueError("a VBD needs at least one extent")
        self._fds: dict[Path, int] = {}  # one descriptor per host file
        self._keys: dict[Path, FileKey] = {}
        self._starts: list[int] = []  # first sector of each extent, for bisect
        self._where: list[tuple[int, FileKey]] = []  # each extent's (fd, file)
        self._closer = weakref.finalize(self, _close_all, self._fds)  # at close() or GC
        sector = 0
        try:
            for extent in self.extents:
                self._check(extent)
                self._starts.append(sector)
                sector += extent.length // SECTOR_SIZE
        except BaseException:
            self.close()
            raise
        self.sectors = sector

    def _check(self, extent: Extent) -> None:
        if extent.offset < 0 or extent.offset % SECTOR_SIZE:
            raise ValueError(f"{extent}: the offset must be a whole number of sectors")
        if extent.length <= 0 or extent.length % SECTOR_SIZE:
            raise ValueError(f"{extent}: the length must be a positive number of sectors")
        path = extent.path.resolve()
        if path not in self._fds:
            flags = (os.O_RDONLY if self.readonly else os.O_RDWR) | getattr(os, "O_CLOEXEC", 0)
            try:
                fd = os.open(path, flags)
            except OSError as exc:
                raise ValueError(f"cannot open {path}: {exc.strerror or exc}") from None
            self._fds[path] = fd
            st = os.fstat(fd)
            self._keys[path] = (st.st_dev, st.st_ino)
        self._where.append((self._fds[path], self._keys[path]))
        # A VBD never grows its file: every sector it offers must already be there, so a
        # read can never come back short (and a write never extends someone else's extent).
        size = os.fstat(self._fds[path]).st_size
        if extent.offset + extent.length > size:
            raise ValueError(
                f"{path} has {size} bytes; the extent {extent.offset}+{extent.length} "
                "goes past its end"
            )

    @property
    def files(self) -> list[FileKey]:
        return list(self._keys.values())

    # ------------------------------------------------------------------ mapping
    def position(self, sector: int) -> tuple[FileKey, int]:
        """Where ``sector`` lies: (file, byte offset) — the elevator sorts by this."""
        piece = self.pieces(sector, 1)[0]
        return piece.file, piece.offset

    def pieces(self, sector: int, count: int) -> list[Piece]:
        """The file pieces of sectors ``sector .. sector+count-1``, in order; VbdError if
        any of them is outside the VBD."""
        if count <= 0 or sector < 0 or sector + count > self.sectors:
            raise VbdError(
                f"sectors {sector}..{sector + count - 1} are outside the VBD's {self.sectors}"
            )
        out = []
        index = bisect.bisect_right(self._starts, sector) - 1
        while count:
            extent = self.extents[index]
            fd, file = self._where[index]
            skip = sector - self._starts[index]
            n = min(count, extent.length // SECTOR_SIZE - skip)
            out.append(Piece(fd, file, extent.offset + skip * SECTOR_SIZE, n * SECTOR_SIZE))
            sector, count, index = sector + n, count - n, index + 1
        return out

    # ------------------------------------------------------------------ I/O
    def readinto(self, sector: int, buffers: Sequence[memoryview]) -> None:
        """Fill ``buffers`` (whole sectors in all) from sector ``sector`` on."""
        self._transfer(sector, buffers, write=False)

    def write(self, sector: int, buffers: Sequence[memoryview]) -> None:
        """Write ``buffers`` at sector ``sector``; returns once every byte is in the host
        file (the host's page cache: it survives the death of this process)."""
        if self.readonly:
            raise VbdError("the VBD is read-only")
        self._transfer(sector, buffers, write=True)

    def flush(self) -> None:
        """``fsync`` every file of the VBD: what it holds is on stable storage."""
        for fd in self._fds.values():
            try:
                os.fsync(fd)
            except OSError as exc:
                raise VbdError(f"fsync failed: {exc.strerror or exc}") from None

    def _transfer(self, sector: int, buffers: Sequence[memoryview], *, write: bool) -> None:
        total = sum(len(b) for b in buffers)
        if total % SECTOR_SIZE:
            raise VbdError(f"{total} bytes is not a whole number of sectors")
        queue = list(buffers)
        for piece in self.pieces(sector, total // SECTOR_SIZE):
            chunk = _take(queue, piece.length)
            offset = piece.offset
            # preadv/pwritev may move fewer bytes than asked: go on until all have moved.
            while chunk:
                try:
                    if write:
                        n = os.pwritev(piece.fd, chunk, offset)
                    else:
                        n = os.preadv(piece.fd, chunk, offset)
                except OSError as exc:
                    raise VbdError(f"host I/O failed: {exc.strerror or exc}") from None
                if n <= 0:
                    raise VbdError(f"host file ended at byte {offset} (truncated under us?)")
                offset += n
                _take(chunk, n)

    def close(self) -> None:
        self._closer()

    def __repr__(self) -> str:
        mode = "ro" if self.readonly else "rw"
        parts = ", ".join(f"{e.path.name}@{e.offset}+{e.length}" for e in self.extents)
        return f"Vbd({parts}, {self.sectors} sectors, {mode})"


def _close_all(fds: dict[Path, int]) -> None:
    for fd in fds.values():
        os.close(fd)
    fds.clear()


def _take(queue: list[memoryview], n: int) -> list[memoryview]:
    """Remove the first ``n`` bytes of the buffer list ``queue`` (in place) and return them
    as a list of views: the scatter-gather list of one piece."""
    out = []
    while n:
        head = queue[0]
        if len(head) <= n:
            out.append(queue.pop(0))
            n -= len(head)
        else:
            out.append(head[:n])
            queue[0] = head[n:]
            n = 0
    return out
