"""CPU, events and scheduling benchmarks (the paper's §2.1.2, §3.1, §4.5 costs).

- System-call bounce ring 3 -> ring 1 -> ring 3 (guest ``bench_syscall``: a ring-3 loop of
  null ``int $0x80``) through the direct gate (target <= 3 us) and through Xen's bounce,
  beside the same loop with an empty ``int`` hook;
- event send -> upcall in the other domain (``pingpong``): guest instructions and us per
  one-way trip;
- domain switch cost (two domains yielding to each other);
- N domains running a compute loop: aggregate guest instructions/s against one domain's,
  and the host's resident memory.

Prints readable lines, then one JSON object on the last line.
Usage: python benchmarks/cpu.py [--quick]
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time

from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen
from xenlab.xen.schedule import RoundRobin

QUICK = "--quick" in sys.argv
REPS = 3 if QUICK else 5


def syscall_us(n: int) -> dict[str, float]:
    """us per null system call: through the direct gate (the default road), through
    Xen's bounce (``bounce=1``), and with the int hook emptied (the floor)."""
    image = load_kernel_image(build_guest("bench_syscall"))
    xen = Xen()
    real = xen.cpu.trap_handler

    def empty(vector: int, software: bool) -> None:
        if vector != 0x80:
            real(vector, software)  # the final int $0x81 still ends the run

    runs = {"direct": (real, ""), "bounce": (real, " bounce=1"), "empty": (empty, "")}
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(REPS):
        for label, (handler, extra) in runs.items():
            xen.cpu.trap_handler = handler
            domain = build_domain(xen, image, name="sys", memory_mib=4, cmdline=f"n={n}{extra}")
            t0 = time.perf_counter()
            xen.run()
            times[label].append(time.perf_counter() - t0)
            assert domain.shutdown_reason == "poweroff", domain.console
            direct = domain.stats.direct_traps
            assert direct == (n - 1 if label == "direct" else 0), (label, direct)
            xen.destroy_domain(domain)
    xen.cpu.trap_handler = real
    return {label: statistics.median(t) / n * 1e6 for label, t in times.items()}


def event_latency(count: int) -> tuple[float, float]:
    """pingpong: (guest instructions, us) per one-way event (send -> upcall -> reply)."""
    image = load_kernel_image(build_guest("pingpong"))
    walls, instructions = [], 0
    for _ in range(REPS):
        xen = Xen()
        pong = build_domain(
            xen, image, name="pong", memory_mib=4, cmdline=f"role=pong peer=1 count={count}"
        )
        ping = build_domain(
            xen, image, name="ping", memory_mib=4, cmdline=f"role=ping peer=0 port=2 count={count}"
        )
        t0 = time.perf_counter()
        xen.run()
        walls.append(time.perf_counter() - t0)
        assert ping.shutdown_reason == pong.shutdown_reason == "poweroff", (
            ping.console,
            pong.console,
        )
        instructions = ping.stats.instructions + pong.stats.instructions
    trips = 2 * count
    return instructions / trips, statistics.median(walls) / trips * 1e6


def switch_us(yields: int) -> tuple[float, float]:
    """(us per yield between two domains, us of it that is the switch itself).

    Each yield ends a slice; with two domains every slice switches address space and
    register file, with one it resumes the same domain.  The difference of the two
    per-slice costs (medians over fresh machines) is the domain switch; the rest is the
    guest's own work per slice (a printk and the yield hypercall)."""
    image = load_kernel_image(build_guest("schedops"))
    per_slice: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(REPS):
        for count in (1, 2):
            xen = Xen()
            domains = [
                build_domain(xen, image, name=f"d{i}", memory_mib=4, cmdline=f"yields={yields}")
                for i in range(count)
            ]
            t0 = time.perf_counter()
            xen.run()
            per_slice[count].append((time.perf_counter() - t0) / len(xen.trace) * 1e6)
            assert all(d.shutdown_reason == "poweroff" for d in domains)
    two, one = statistics.median(per_slice[2]), statistics.median(per_slice[1])
    return two, two - one


def many_domains(count: int, slice_ns: int, instructions: int) -> tuple[float, int]:
    """Aggregate guest instructions per wall second for ``count`` compute domains."""
    image = load_kernel_image(build_guest("bench_compute"))
    xen = Xen(machine_mib=max(64, 5 * count), scheduler=RoundRobin(slice_ns))
    for k in range(count):
        build_domain(xen, image, name=f"c{k}", memory_mib=4, cmdline="n=4000000000")
    t0 = time.perf_counter()
    result = xen.run(max_instructions=instructions)
    return result.instructions / (time.perf_counter() - t0), len(xen.trace)


def main() -> None:
    n = 5_000 if QUICK else 20_000
    sys = syscall_us(n)
    print(
        f"system call ring 3 -> 1 -> 3: {sys['direct']:.2f} us through the direct gate "
        f"(target <= 3), {sys['bounce']:.2f} us through Xen's bounce; the same loop with an "
        f"empty int hook: {sys['empty']:.2f} us"
    )
    per_event_insns, per_event_us = event_latency(50 if QUICK else 200)
    print(
        f"event send -> upcall -> reply, one way: {per_event_insns:.0f} guest instructions, "
        f"{per_event_us:.1f} us"
    )
    per_yield, sw = switch_us(200 if QUICK else 1000)
    print(
        f"yield to another domain: {per_yield:.1f} us per slice, of which the domain switch "
        f"{sw:.1f} us (the rest is the guest's printk and yield)"
    )
    # The paper's 5 ms and 50 ms slices, scaled down 10x so that 128 domains each get two
    # full slices in a run of seconds, not minutes.
    slices = (500_000, 5_000_000)
    counts = [16] if QUICK else [32, 128]
    runs = 1 if QUICK else 3  # one Unicorn instance's speed varies by ~10%: take medians
    rows = {}
    for slice_ns in slices:
        budget = 2 * max(counts) * slice_ns
        for count in counts:
            # One domain and `count` domains alternate, and the ratio is taken per pair,
            # so a change in the host's load during the run cancels out.
            ratios, rates, switches = [], [], 0
            for _ in range(runs):
                one = many_domains(1, slice_ns, budget)[0]
                rate, switches = many_domains(count, slice_ns, budget)
                ratios.append(rate / one)
                rates.append(rate)
            ratio = statistics.median(ratios)
            rows[f"{count}x{slice_ns / 1e6:g}ms"] = round(ratio, 3)
            print(
                f"{count:4} domains, {slice_ns / 1e6:g} ms slices: "
                f"{statistics.median(rates) / 1e6:7.1f} M guest insn/s = {ratio:.3f} of one "
                f"domain ({switches} slices; median of {runs} paired runs)"
            )
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"host resident memory (peak): {rss_mib:.0f} MiB")
    print(
        json.dumps(
            {
                "syscall_us": round(sys["direct"], 2),
                "syscall_via_xen_bounce_us": round(sys["bounce"], 2),
                "syscall_empty_hook_us": round(sys["empty"], 2),
                "event_one_way_guest_instructions": round(per_event_insns),
                "event_one_way_us": round(per_event_us, 1),
                "yield_to_other_domain_us": round(per_yield, 1),
                "domain_switch_us": round(sw, 1),
                "aggregate_vs_one_domain": rows,
                "peak_rss_mib": round(rss_mib),
            }
        )
    )


if __name__ == "__main__":
    main()
