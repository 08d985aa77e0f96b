"""A host with domain 0: a guest's console through its ring, its identity from xenstore."""

from __future__ import annotations

import pytest

from xenlab.toolstack.control import BootError, boot
from xenlab.toolstack.host import Host


@pytest.fixture(scope="module")
def alice() -> tuple[Host, object]:
    host = Host(64)
    domain = host.create("xshello", name="alice", memory_mib=4)
    host.run(max_instructions=50_000_000)
    return host, domain


def test_a_guest_reads_its_own_domid_and_name_from_xenstore_at_boot(alice):
    _, domain = alice
    assert domain.domid == 1  # domain 0 came first
    assert domain.shutdown_reason == "poweroff", domain.console
    assert "xenstore 'domid' -> 1 (rc 0)" in domain.console
    assert "xenstore 'name' -> 'alice' (rc 5)" in domain.console


def test_its_console_went_through_the_ring_not_console_io(alice):
    host, domain = alice
    assert domain.console.startswith("xshello: console ring connected")
    assert "console_io" not in domain.stats.hypercalls_by_name()
    assert host.consoles[domain.domid].bytes_out == len(domain.console)


def test_watches_fire_and_the_store_keeps_homes_apart(alice):
    host, domain = alice
    assert "watch fired for data/note (token note) after a write: rc 0" in domain.console
    assert host.store.read("/local/domain/1/data/note") == b"written by the guest"
    assert "reading domain 0's name: rc -13" in domain.console
    assert "renaming domain 0: rc -13" in domain.console
    assert "renaming myself: rc -13" in domain.console  # name is n0,r1: the toolstack's
    assert host.store.read("/local/domain/1/name") == b"alice"


def test_xl_list_shows_domain_0_and_the_guest(alice):
    host, _ = alice
    rows = {r.domid: r for r in host.list()}
    assert rows[0].name == "Domain-0"
    assert (rows[1].name, rows[1].memory_mib, rows[1].state) == ("alice", 4, "s")


def test_destroy_releases_the_domain_from_the_store_and_its_frames():
    host = Host(64)
    free = host.xen.machine.frames.nr_free
    host.create("xshello", name="bob", memory_mib=4)
    host.run(max_instructions=50_000_000)
    host.destroy("bob")
    assert not host.store.exists("/local/domain/1")
    assert host.xen.machine.frames.nr_free == free
    with pytest.raises(BootError, match="no domain 'bob'"):
        host.destroy("bob")


def test_on_a_bare_xen_the_same_guest_falls_back_to_console_io():
    result = boot("xshello", memory_mib=4)
    assert result.ok
    assert "no console back end; using console_io" in result.console
    assert "no xenstore on this host" in result.console


def test_input_typed_into_the_console_reaches_the_guest():
    host = Host(64)
    domain = host.create("xshello", name="carol", memory_mib=4, cmdline="echo=1")
    assert host.run(max_instructions=50_000_000).reason == "idle"  # polling its console
    assert host.send_input("carol", "hello there\n") == len("hello there\n")
    host.run(max_instructions=50_000_000)
    assert "xshello: you typed 'hello there'\n" in domain.console
    host.send_input("carol", "quit\n")
    host.run(max_instructions=50_000_000)
    assert domain.shutdown_reason == "poweroff"


def test_building_a_domain_after_another_ran_leaves_the_first_one_intact():
    # start_vcpu loads the new vCPU's start state into the CPU: the vCPU that ran last
    # must be saved first, or the next switch would save the newcomer's state over it.
    host = Host(64)
    first = host.create("xenolite", name="first", memory_mib=8)
    host.run(max_instructions=300_000)
    second = host.create("xshello", name="second", memory_mib=4)
    host.run(max_instructions=300_000_000)
    assert first.shutdown_reason == "poweroff", first.console
    assert second.shutdown_reason == "poweroff", second.console


def test_xenolite_prints_through_its_console_ring_on_a_host():
    host = Host(64)
    domain = host.create("xenolite", name="lite", memory_mib=8)
    host.run(max_instructions=300_000_000)
    assert domain.shutdown_reason == "poweroff", domain.console
    assert "xenolite: booting in ring 1" in domain.console
    assert "console_io" not in domain.stats.hypercalls_by_name()
    assert host.consoles[domain.domid].bytes_out == len(domain.console)
