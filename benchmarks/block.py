"""Block I/O benchmark (paper §3.3.6, §4: the cost of a virtual disk).

A xenolite guest reads and writes its whole virtual disk sequentially (``blk=1 bench=1``:
write, ``bench=2``: read; 1 MiB per system call, split by blkfront into requests of 11
pages, up to a ring's worth in flight), through blkfront, the ring, domain 0's blkback and
its elevator, into an image file.  The figure is the guest data moved per wall-clock second,
set against reading and writing the same bytes of the same image file directly from Python
(``os.pwrite``/``os.preadv``, 1 MiB at a time) in the same run: how much of the host's file
throughput survives virtualization.  The guest's time is measured from the first request
domain 0 sees to the end of the run (the boot is not counted).

Prints readable lines, then one JSON object on the last line.
Usage: python benchmarks/block.py [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from xenlab.build import build_guest
from xenlab.dom0.block import attach_disk, block_service
from xenlab.toolstack.host import Host

QUICK = "--quick" in sys.argv
REPS = 1 if QUICK else 3
DISK_MIB = 8 if QUICK else 32
CHUNK = 1 << 20


def guest_pass(path: Path, mode: int) -> tuple[float, dict[str, int]]:
    """Seconds for the guest's ``bench=mode`` pass over the disk, and domain 0's counters."""
    host = Host(64)
    domain = host.create("xenolite", name="bench", cmdline=f"blk=1 bench={mode}")
    started: list[float] = []
    device = None

    def first_request() -> bool:  # runs before the block service in every round
        if not started and device is not None and device.pending():
            started.append(time.perf_counter())
        return False

    host.dom0.add_poller(first_request)
    device = attach_disk(host, domain, path)
    host.run()
    end = time.perf_counter()
    word = "write" if mode == 1 else "read"
    assert f"blk: bench {word}: " in domain.console, domain.console
    assert domain.shutdown_reason == "poweroff", domain.console
    stats = device.stats
    return end - started[0], {
        "requests": stats.requests,
        "batches": block_service(host).batches,
        "reorders": stats.reorders,
        "sectors": stats.sectors_read + stats.sectors_written,
    }


def direct_pass(path: Path, write: bool) -> float:
    """Seconds for Python to write or read the same bytes of the file, 1 MiB at a time."""
    size = path.stat().st_size
    data = os.urandom(CHUNK)
    buf = bytearray(CHUNK)
    fd = os.open(path, os.O_RDWR)
    try:
        t0 = time.perf_counter()
        for offset in range(0, size, CHUNK):
            if write:
                os.pwrite(fd, data, offset)
            else:
                os.preadv(fd, [buf], offset)
        return time.perf_counter() - t0
    finally:
        os.close(fd)


def main() -> None:
    build_guest("xenolite")  # outside the timings
    mib = DISK_MIB
    results: dict[str, dict[str, float]] = {}
    counters: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.img"
        with open(path, "wb") as f:
            f.truncate(mib << 20)
        for label, mode in (("write", 1), ("read", 2)):
            guest_s, direct_s = [], []
            for _ in range(REPS):
                seconds, counters[label] = guest_pass(path, mode)
                guest_s.append(seconds)
                direct_s.append(direct_pass(path, write=mode == 1))
            guest = mib / statistics.median(guest_s)
            direct = mib / statistics.median(direct_s)
            results[label] = {
                "guest_mb_s": round(guest, 2),
                "direct_mb_s": round(direct, 1),
                "ratio": round(guest / direct, 5),
            }
            c = counters[label]
            print(
                f"sequential {label:5}: guest {guest:8.2f} MB/s, Python on the file "
                f"{direct:9.1f} MB/s, ratio {guest / direct:.4f}  "
                f"({c['requests']} requests of {c['sectors'] * 512 / c['requests'] / 1024:.0f} "
                f"KiB in {c['batches']} batches, {c['reorders']} reordered)"
            )
    print(f"({mib} MiB disk, median of {REPS}; MB = 2**20 bytes of guest data)")
    print(json.dumps({"disk_mib": mib, "reps": REPS, **results, "counters": counters}))


if __name__ == "__main__":
    main()
