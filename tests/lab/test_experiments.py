"""The paper's scheduling results, reproduced in shape and asserted numerically."""

from __future__ import annotations

from xenlab.lab.experiments import warp_latency, weighted_shares


def test_bvt_gives_weights_1_to_8_their_share_within_4_percent() -> None:
    shares = weighted_shares(list(range(1, 9)))
    for share in shares:
        assert abs(share.error) < 0.04, share
    assert [s.weight for s in sorted(shares, key=lambda s: s.instructions)] == list(range(1, 9))


def test_warp_lets_an_event_driven_domain_run_as_soon_as_it_wakes() -> None:
    plain, warped = warp_latency(warp=False), warp_latency(warp=True)
    assert plain.mean_ns >= 100_000  # it waits for a CPU hog's slice to end ...
    assert warped.worst_ns < 10_000  # ... unless it may borrow virtual time
    assert warped.mean_ns * 100 < plain.mean_ns
