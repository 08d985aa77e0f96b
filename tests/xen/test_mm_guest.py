"""Page-table updates from a real guest: mmu_update batches, pinning, base pointers and
the refusals (guests/mmu), with the invariant checker clean afterwards."""

from __future__ import annotations

from pathlib import Path

from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.hypervisor import Xen

EXPECTED = Path(__file__).parents[1] / "guests" / "expected"


def test_the_mmu_guest_sees_every_update_done_and_every_forbidden_one_refused() -> None:
    xen = Xen()
    mmu = build_domain(xen, load_kernel_image(build_guest("mmu")), name="mmu", memory_mib=8)
    hello = build_domain(xen, load_kernel_image(build_guest("hello")), name="hello", memory_mib=8)
    xen.scheduler.slice = 2_000  # interleave the two domains finely
    xen.run()
    assert "FAIL" not in mmu.console, mmu.console
    assert mmu.console.endswith("all checks passed\n")
    assert mmu.console.count(" ok\n") == 31
    assert mmu.shutdown_reason == "poweroff"
    assert hello.console.startswith("Hello from xenlab!") and hello.shutdown_reason == "poweroff"
    assert xen.check_invariants() == []
    assert mmu.stats.hypercalls_by_name()["mmu_update"] >= 7
    assert mmu.stats.hypercalls_by_name()["mmuext_op"] >= 10


def test_the_invariant_checker_notices_a_count_that_does_not_match_the_tables() -> None:
    xen = Xen()
    domain = build_domain(xen, load_kernel_image(build_guest("hello")), name="hello", memory_mib=4)
    assert xen.check_invariants() == []
    xen.frametable.count[domain.p2m[0]] += 1  # a reference nothing accounts for
    problems = xen.check_invariants()
    assert len(problems) == 1 and f"frame {domain.p2m[0]:#x}" in problems[0]


def test_the_memops_guest_balloons_and_installs_a_checked_gdt() -> None:
    xen = Xen()
    memops = build_domain(
        xen, load_kernel_image(build_guest("memops")), name="memops", memory_mib=16
    )
    hello = build_domain(xen, load_kernel_image(build_guest("hello")), name="hello", memory_mib=8)
    xen.run()
    assert "FAIL" not in memops.console, memops.console
    assert memops.console.count(" ok\n") == 36
    assert memops.console.endswith("all checks passed\n") and memops.shutdown_reason == "poweroff"
    assert hello.shutdown_reason == "poweroff"
    assert memops.tot_pages == 4096  # ballooned down by 3 and back up by 3
    assert len(memops.vcpu.gdt_frames) == 1
    assert xen.check_invariants() == []


def test_a_domain_with_a_larger_maximum_can_balloon_up_to_it() -> None:
    xen = Xen()
    image = load_kernel_image(build_guest("hello"))
    domain = build_domain(xen, image, name="big", memory_mib=4, max_memory_mib=8)
    assert (domain.tot_pages, domain.max_pages) == (1024, 2048)


def test_code_rewritten_by_copy_page_runs_as_rewritten_not_from_stale_translations() -> None:
    from xenlab.toolstack.control import boot

    result = boot(Path(__file__).parent / "guests" / "copypage")
    assert "COPY_PAGE rc=0: code_a returned 1 before, 2 after" in result.console
