"""Every scheduler runs several real domains side by side to completion."""

from __future__ import annotations

import pytest

from xenlab.build import build_guest
from xenlab.lab.experiments import weighted_shares
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen
from xenlab.xen.sched_bvt import BVT
from xenlab.xen.sched_credit import Credit
from xenlab.xen.schedule import RoundRobin

SCHEDULERS = {
    "rr": lambda: RoundRobin(20_000),
    "bvt": lambda: BVT(mcu=10_000, ctx_allow=20_000),
    "credit": lambda: Credit(period=200_000, tslice=20_000),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_several_domains_run_side_by_side_to_completion(name: str) -> None:
    xen = Xen(scheduler=SCHEDULERS[name]())
    pingpong = load_kernel_image(build_guest("pingpong"))
    pong = build_domain(xen, pingpong, name="pong", memory_mib=4, cmdline="role=pong peer=1")
    ping = build_domain(xen, pingpong, name="ping", memory_mib=4, cmdline="role=ping peer=0 port=2")
    traps = build_domain(xen, load_kernel_image(build_guest("traps")), name="traps", memory_mib=4)
    clock = build_domain(xen, load_kernel_image(build_guest("clock")), name="clock", memory_mib=4)
    xen.run()
    for domain in (pong, ping, traps, clock):
        assert domain.shutdown_reason == "poweroff", (name, domain.name, domain.console)
    assert len({domid for domid, _, _ in xen.trace}) == 4
    assert xen.check_invariants() == []


def test_the_credit_scheduler_gives_weights_1_to_8_their_share_within_4_percent() -> None:
    for share in weighted_shares(list(range(1, 9)), scheduler="credit"):
        assert abs(share.error) < 0.04, share
