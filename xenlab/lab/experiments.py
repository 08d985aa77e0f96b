"""The paper's scheduling experiments as functions (used by tests and labs).

* :func:`weighted_shares` — §4.3: domains given weights get their share of the CPU
  "within 4%";
* :func:`warp_latency` — §3.3.1: BVT's warp lets an event-driven domain run as soon as it
  wakes, even beside CPU hogs.

Everything is measured in virtual time (guest instructions), so the results are the same
on every run and every machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen
from xenlab.xen.sched_bvt import BVT

SPIN = "n=4000000000"  # bench_compute that never finishes in time: a CPU hog


@dataclass(frozen=True)
class Share:
    weight: int
    instructions: int
    share: float
    target: float

    @property
    def error(self) -> float:
        """Relative distance from the target share."""
        return (self.share - self.target) / self.target


def weighted_shares(
    weights: list[int],
    *,
    instructions: int = 40_000_000,
    mcu: int = 10_000,
    ctx_allow: int = 50_000,
) -> list[Share]:
    """One CPU hog per weight under BVT (``mcu_advance`` = lcm / weight); run for
    ``instructions`` in total and return each domain's share against its target."""
    image = load_kernel_image(build_guest("bench_compute"))
    bvt = BVT(mcu=mcu, ctx_allow=ctx_allow)
    xen = Xen(machine_mib=max(64, 8 * len(weights)), scheduler=bvt)
    scale = 1
    for w in weights:
        scale = scale * w // _gcd(scale, w)
    domains = []
    for w in weights:
        domain = build_domain(xen, image, name=f"weight{w}", memory_mib=4, cmdline=SPIN)
        bvt.set_params(domain, mcu_advance=scale // w)
        domains.append((w, domain))
    xen.run(max_instructions=instructions)
    total = sum(d.stats.instructions for _, d in domains)
    return [
        Share(w, d.stats.instructions, d.stats.instructions / total, w / sum(weights))
        for w, d in domains
    ]


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


@dataclass(frozen=True)
class Latency:
    warp: bool
    mean_ns: int
    worst_ns: int


def warp_latency(
    *, warp: bool, hogs: int = 3, rounds: int = 20, ctx_allow: int = 500_000
) -> Latency:
    """An event-driven domain (guest ``latency``: a timer every ms) beside ``hogs`` CPU
    hogs under BVT, with or without warp; its dispatch latency in virtual ns."""
    bvt = BVT(mcu=10_000, ctx_allow=ctx_allow)
    xen = Xen(scheduler=bvt)
    hog_image = load_kernel_image(build_guest("bench_compute"))
    for k in range(hogs):
        build_domain(xen, hog_image, name=f"hog{k}", memory_mib=4, cmdline=SPIN)
    waiter = build_domain(
        xen,
        load_kernel_image(build_guest("latency")),
        name="latency",
        memory_mib=4,
        cmdline=f"rounds={rounds}",
    )
    if warp:
        bvt.set_params(waiter, warp=1_000_000, warpl=2_000_000, warpu=0)
    while waiter.alive:
        xen.run(max_instructions=50_000_000)
    found = re.search(r"mean (\d+) ns late, worst (\d+) ns", waiter.console)
    if found is None:
        raise RuntimeError(f"latency guest said: {waiter.console!r}")
    return Latency(warp, int(found.group(1)), int(found.group(2)))
