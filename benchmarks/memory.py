"""Memory-virtualization benchmarks.

- Validation cost per PTE in a 2048-entry mmu_update batch (target: <= 1 us): the guest
  ``bench_mmu`` maps and unmaps 256 pages, 2048 checked PTE writes per hypercall; the
  time of ``Xen.run`` divided by the number of PTE writes (hypercall entry, copying the
  requests, validation, reference counting and the TLB flush are all included).

- Fork of a process with 1 MiB mapped, batched vs unbatched: xenolite's init touches 1 MiB
  of heap, forks one worker (copy-on-write: every PTE of the parent is downgraded and the
  child's tables built) and waits; its page-table writes go to Xen in batches of up to
  2048 (as XenoLinux) or one per hypercall (``batch=1``).  Whole-run mmu_update counts and
  wall time.

Prints readable lines, then one JSON object on the last line.
Usage: python benchmarks/memory.py [--quick]
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen

QUICK = "--quick" in sys.argv
REPS = 3 if QUICK else 7


def pte_update_us(rounds: int, batch: int = 2048) -> float:
    image = load_kernel_image(build_guest("bench_mmu"))
    times = []
    for _ in range(REPS):
        xen = Xen()
        domain = build_domain(
            xen, image, name="bench", memory_mib=16, cmdline=f"rounds={rounds} batch={batch}"
        )
        t0 = time.perf_counter()
        xen.run()
        times.append(time.perf_counter() - t0)
        assert f"{rounds} batches of {batch} PTE updates: rc=0" in domain.console, domain.console
        assert xen.check_invariants() == []
    return statistics.median(times) / (rounds * batch) * 1e6


def xenolite_fork(batch: int) -> tuple[int, float]:
    """(mmu_update hypercalls, median seconds of Xen.run) for xenolite's 1 MiB fork."""
    image = load_kernel_image(build_guest("xenolite"))
    times, calls = [], 0
    for _ in range(REPS):
        xen = Xen()
        cmdline = f"workers=1 prefault=1024 batch={batch}"
        domain = build_domain(xen, image, name="xenolite", memory_mib=16, cmdline=cmdline)
        t0 = time.perf_counter()
        xen.run()
        times.append(time.perf_counter() - t0)
        assert domain.shutdown_reason == "poweroff", domain.console
        calls = domain.stats.hypercalls_by_name()["mmu_update"]
    return calls, statistics.median(times)


def main() -> None:
    rounds = 5 if QUICK else 20
    per_pte = pte_update_us(rounds)
    single = (
        pte_update_us(rounds * 64, batch=1) if not QUICK else pte_update_us(rounds * 16, batch=1)
    )
    print(f"mmu_update, 2048-entry batches: {per_pte:.3f} us per PTE (target <= 1)")
    print(
        f"mmu_update, one PTE per hypercall: {single:.3f} us per PTE "
        f"(batching saves {single / per_pte:.1f}x)"
    )
    batched_calls, batched_s = xenolite_fork(2048)
    single_calls, single_s = xenolite_fork(1)
    print(
        f"xenolite, fork with 1 MiB mapped: {batched_calls} mmu_updates, {batched_s * 1e3:.1f} ms"
        f" batched; {single_calls} mmu_updates, {single_s * 1e3:.1f} ms unbatched"
        f" ({single_s / batched_s:.2f}x the time)"
    )
    print(
        json.dumps(
            {
                "fork_1mib_mmu_updates_batched": batched_calls,
                "fork_1mib_mmu_updates_unbatched": single_calls,
                "fork_1mib_ms_batched": round(batched_s * 1e3, 2),
                "fork_1mib_ms_unbatched": round(single_s * 1e3, 2),
                "fork_unbatched_vs_batched_time": round(single_s / batched_s, 2),
                "pte_update_us_batch_2048": round(per_pte, 3),
                "pte_update_us_batch_1": round(single, 3),
                "batching_speedup": round(single / per_pte, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
