"""The privileged control interface (paper §2.3): domctl from a privileged guest, -EPERM
for everyone else."""

from __future__ import annotations

from pathlib import Path

from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen

GUESTS = Path(__file__).parent / "guests"


def test_only_a_privileged_domain_may_control_another():
    image = load_kernel_image(build_guest(GUESTS / "domctl"))
    xen = Xen()
    victim = build_domain(xen, image, name="victim", memory_mib=4, cmdline="victim=1")
    tool = build_domain(
        xen,
        image,
        name="tool",
        memory_mib=4,
        cmdline=f"tool=1 target={victim.domid}",
        privileged=True,
    )
    xen.run(max_instructions=20_000_000)
    assert "victim: getdomaininfo(0) = -1\n" in victim.console  # -EPERM
    assert "victim: pausedomain(0) = -1\n" in victim.console
    out = tool.console
    assert tool.shutdown_reason == "poweroff", out
    assert f"tool: getdomaininfo({victim.domid}) = 0: 1024 pages, max 1024" in out
    assert "tool: pausedomain = 0\n" in out
    assert "tool: paused flag 1, ran while paused: no\n" in out
    assert "tool: unpausedomain = 0\n" in out
    assert "tool: unpausedomain again = -22\n" in out
    assert "tool: max_mem 1 MiB = -22\n" in out
    assert "tool: pausedomain(self) = -3\n" in out  # DOMID_SELF names no domain here, as in Xen
    assert "tool: destroydomain = 0\n" in out
    assert "tool: getdomaininfo after destroy = -3\n" in out  # -ESRCH
    assert victim.domid not in xen.domains
    assert xen.check_invariants() == []
