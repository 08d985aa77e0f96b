"""Event-channel delivery rules (paper §3.1), on real domains' shared_info pages."""

from __future__ import annotations

import pytest

from xenlab.abi import layout
from xenlab.build import build_guest
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.elfimage import load_kernel_image
from xenlab.xen.domain import DomainState
from xenlab.xen.events import Channel, PortState, set_pending, upcall_pending
from xenlab.xen.hypervisor import Xen


@pytest.fixture
def domain():
    xen = Xen(machine_mib=32)
    return build_domain(xen, load_kernel_image(build_guest("hello")), name="d", memory_mib=4)


def word(domain, offset: int) -> int:
    return domain.machine.memory.read_u32((domain.shared_info_mfn << 12) + offset)


def byte(domain, offset: int) -> int:
    return domain.machine.memory.view[(domain.shared_info_mfn << 12) + offset]


def test_the_builder_offers_the_console_port_to_domain_0() -> None:
    xen = Xen(machine_mib=32)
    d = build_domain(xen, load_kernel_image(build_guest("hello")), name="d", memory_mib=4)
    channel = d.events.get(1)
    assert channel == Channel(PortState.UNBOUND, remote_dom=0)


def test_raising_a_port_sets_its_bit_its_selector_and_upcall_pending(domain) -> None:
    set_pending(domain, 37)
    assert word(domain, layout.SH_EVTCHN_PENDING + 4) == 1 << 5
    assert word(domain, layout.VI_PENDING_SEL) == 1 << 1
    assert byte(domain, layout.VI_UPCALL_PENDING) == 1


def test_a_masked_port_stays_in_the_bitmap_without_an_upcall(domain) -> None:
    memory = domain.machine.memory
    memory.write_u32((domain.shared_info_mfn << 12) + layout.SH_EVTCHN_MASK, 1 << 3)
    set_pending(domain, 3)
    assert word(domain, layout.SH_EVTCHN_PENDING) == 1 << 3
    assert word(domain, layout.VI_PENDING_SEL) == 0
    assert byte(domain, layout.VI_UPCALL_PENDING) == 0


def test_the_virtual_interrupt_flag_decides_whether_an_upcall_is_due(domain) -> None:
    set_pending(domain, 2)
    assert byte(domain, layout.VI_UPCALL_MASK) == 1  # domains start with events masked
    assert not upcall_pending(domain.vcpu)
    domain.machine.memory.view[(domain.shared_info_mfn << 12) + layout.VI_UPCALL_MASK] = 0
    assert upcall_pending(domain.vcpu)


def test_an_event_wakes_a_blocked_domain(domain) -> None:
    domain.state = DomainState.BLOCKED
    set_pending(domain, 2)
    assert domain.state is DomainState.RUNNABLE


def test_ports_are_handed_out_from_1_and_port_0_never(domain) -> None:
    ports = [domain.events.allocate(Channel(PortState.IPI)) for _ in range(3)]
    assert ports == [2, 3, 4]  # port 1 is the console's
    assert domain.events.get(0) is None
