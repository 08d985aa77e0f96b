"""Virtual block devices (paper §3.3.6): xenolite's blkfront and its block workload against
domain 0's blkback on real host files — extents, read-only VBDs, round-robin and the
elevator, hostile front ends, and durability across a SIGKILL."""

from __future__ import annotations

import array
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xenlab.abi import ring as abi
from xenlab.dom0.block import MAX_BATCH, attach_disk, attach_vbd, block_service, vdev_to_devid
from xenlab.dom0.elevator import Elevator, overtakers
from xenlab.dom0.vbd import Vbd, VbdError
from xenlab.dom0.xenbus import XenbusState
from xenlab.toolstack.host import Host
from xenlab.toolstack.xlcfg import Disk
from xenlab.xen.events import Channel, PortState, notify_remote
from xenlab.xen.ring import FrontRing, SharedRing

REPO = Path(__file__).resolve().parents[2]
BLOCK = 4096
MAGIC = 0x4B4C4258
ACK = re.compile(r"^ack seq=(\d+) block=(\d+) gen=(\d+)$", re.M)


# ---------------------------------------------------------------------- the stamps


def stamp_generation(data: bytes, block: int) -> int:
    """What user_blk.c's check() says of a block read back: its generation if it is a
    consistent stamp of ``block``, 0 if all zero, -1 otherwise."""
    words = array.array("I", data)
    if words[0] == 0:
        return 0 if not any(data) else -1
    if words[0] != MAGIC or words[1] != block or words[2] == 0:
        return -1
    h = 2166136261
    for i in (*range(3), *range(4, 1024)):
        h = ((h ^ words[i]) * 16777619) & 0xFFFFFFFF
    return words[2] if h == words[3] else -1


def acked_writes(console: str) -> dict[int, int]:
    """block -> the highest generation the guest saw acknowledged."""
    acked: dict[int, int] = {}
    for _, block, gen in ACK.findall(console):
        acked[int(block)] = max(acked.get(int(block), 0), int(gen))
    return acked


def image(tmp_path: Path, name: str = "disk.img", size: int = 1 << 20) -> Path:
    path = tmp_path / name
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def run_workload(host: Host, *domains) -> None:
    host.run(max_instructions=400_000_000)
    for domain in domains:
        assert domain.shutdown_reason == "poweroff", domain.console


# ---------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("blk")
    path = image(tmp)
    host = Host(64)
    domain = host.create("xenolite", name="blk", cmdline="blk=1 ops=300 seed=5")
    device = attach_disk(host, domain, path)
    run_workload(host, domain)
    return host, domain, device, path


def test_the_workload_writes_reads_flushes_and_verifies_every_block_through_the_ring(workload):
    host, domain, device, _ = workload
    console = domain.console
    assert "blkfront: device/vbd/51712: 2048 sectors of 512 bytes, read-write" in console
    assert re.search(r"blk: \d+ writes and \d+ barriers .*, 0 errors\n", console), console
    assert re.search(r"blk: final check: \d+ blocks written, \d+ never written, 0 bad;", console)
    stats = device.stats
    assert stats.errors == 0 and stats.writes and stats.reads and stats.flushes
    assert stats.barriers  # kind 15 of the mix: a barrier write now and then
    requests = int(re.search(r"(\d+) requests, 0 error responses", console).group(1))
    assert stats.requests == requests  # every request the guest sent was served once
    assert host.xen.check_invariants() == []  # with the ring page's reference counted


def test_every_acknowledged_write_is_in_the_host_file(workload):
    _, domain, _, path = workload
    data = path.read_bytes()
    acked = acked_writes(domain.console)
    assert len(acked) > 50
    for block, gen in acked.items():
        assert stamp_generation(data[block * BLOCK : (block + 1) * BLOCK], block) == gen


def test_the_back_end_is_connected_through_xenstore_and_holds_the_ring_page(workload):
    host, domain, device, _ = workload
    store, fe, be = host.store, device.frontend, device.backend
    assert fe == "/local/domain/1/device/vbd/51712"
    assert store.read(f"{fe}/state") == b"4" and device.state is XenbusState.CONNECTED
    assert store.read(f"{be}/sectors") == b"2048" and store.read(f"{be}/info") == b"0"
    mfn = int(store.read(f"{fe}/ring-ref"))
    assert host.xen.machine.frames.owner[mfn] == domain.domid
    assert host.xen.foreign_mappings[mfn] == 1  # a page and a writable-type reference


def test_the_trace_records_the_order_of_service(workload):
    host, _, device, _ = workload
    trace = list(block_service(host).trace)
    assert len(trace) == device.stats.requests
    assert {t.operation for t in trace} == {"read", "write", "barrier", "flush"}
    assert all(t.status == abi.BLKIF_RSP_OKAY and t.domid == 1 for t in trace)
    assert sum(t.reordered for t in trace) == device.stats.reorders > 0
    assert [t.batch for t in trace] == sorted(t.batch for t in trace)


def test_a_fresh_boot_with_verify_finds_every_block_the_last_run_wrote(workload, tmp_path):
    _, first, _, path = workload
    copy = tmp_path / "copy.img"
    copy.write_bytes(path.read_bytes())
    host = Host(64)
    domain = host.create("xenolite", name="check", cmdline="blk=1 verify=1")
    attach_disk(host, domain, copy, readonly=True)
    run_workload(host, domain)
    written = len(acked_writes(first.console))
    assert f"blk: verify: 256 blocks: {written} written, {256 - written} never written, 0 bad" in (
        domain.console
    )
    assert "read-only" in domain.console


def test_a_read_only_vbd_refuses_writes_and_leaves_the_file_alone(tmp_path):
    path = image(tmp_path)
    before = path.read_bytes()
    host = Host(64)
    domain = host.create("xenolite", name="ro", cmdline="blk=1 ops=40 seed=2")
    device = attach_disk(host, domain, path, readonly=True)
    run_workload(host, domain)
    failed = domain.console.count("blk: write of blocks")
    assert failed > 5 and "ack seq=" in domain.console  # flushes are fine, writes are not
    assert "ack seq=1 block" not in domain.console
    assert device.stats.writes == 0 and device.stats.errors == failed
    assert device.last_refusal == "the VBD is read-only"
    assert path.read_bytes() == before
    assert host.store.read(f"{device.backend}/mode") == b"r"


def test_two_domains_share_one_file_in_separate_extents_served_round_robin(tmp_path):
    path = image(tmp_path, size=2 << 20)
    host = Host(96)
    alice = host.create("xenolite", name="alice", cmdline="blk=1 ops=120 seed=11")
    bob = host.create("xenolite", name="bob", cmdline="blk=1 ops=120 seed=12")
    half = 1 << 20
    a = attach_vbd(host, alice, Vbd([(path, 0, half)]))
    b = attach_vbd(host, bob, Vbd([(path, half, half)]))
    run_workload(host, alice, bob)
    for domain in (alice, bob):
        assert re.search(
            r"final check: \d+ blocks written, \d+ never written, 0 bad", domain.console
        )
    data = path.read_bytes()
    # Each guest's block b is at b * 4096 within its own extent, and nowhere else.
    for base, domain in ((0, alice), (half, bob)):
        for block, gen in acked_writes(domain.console).items():
            at = base + block * BLOCK
            assert stamp_generation(data[at : at + BLOCK], block) == gen
    trace = list(block_service(host).trace)
    shared = {t.batch for t in trace if t.domid == 1} & {t.batch for t in trace if t.domid == 2}
    assert shared, "the two domains' requests never met in one batch"
    assert a.stats.requests and b.stats.requests
    assert host.xen.check_invariants() == []


def test_an_xl_cfg_disk_with_an_offset_and_a_size_is_an_extent_of_its_file(tmp_path):
    path = image(tmp_path, size=3 << 20)
    host = Host(64)
    domain = host.create("xenolite", name="cfg", cmdline="blk=1 ops=20")
    disk = Disk(target=path, vdev="xvdb", readonly=False, offset=1 << 20, size=1 << 20)
    device = attach_disk(host, domain, disk)
    assert device.devid == vdev_to_devid("xvdb") == 51728
    assert device.vbd.sectors == 2048 and device.vbd.extents[0].offset == 1 << 20
    run_workload(host, domain)
    assert "blkfront: device/vbd/51728: 2048 sectors" in domain.console
    assert not any(path.read_bytes()[: 1 << 20])  # nothing before the extent was touched


def test_destroying_a_domain_removes_its_disk_and_releases_the_ring(tmp_path):
    host = Host(64)
    free = host.xen.machine.frames.nr_free
    domain = host.create("xenolite", name="gone", cmdline="blk=1 ops=5")
    device = attach_disk(host, domain, image(tmp_path))
    host.run(max_instructions=2_000_000)  # connected, mid-workload
    assert device.connected
    host.destroy("gone")
    assert device.removed and not device.connected
    assert not host.xen.foreign_mappings and block_service(host).devices == []
    assert not host.store.exists(device.backend)
    assert host.xen.machine.frames.nr_free == free
    assert host.xen.check_invariants() == []


def test_device_numbers_follow_xens_vbd_interface():
    assert vdev_to_devid("xvda") == 202 << 8
    assert vdev_to_devid("xvdb3") == 202 << 8 | 1 << 4 | 3
    assert vdev_to_devid("xvdq") == 1 << 28 | 16 << 8
    assert vdev_to_devid("hda") == 768 and vdev_to_devid("hdc") == 22 << 8
    assert vdev_to_devid("sdb") == 8 << 8 | 16
    with pytest.raises(ValueError):
        vdev_to_devid("vda")


# ---------------------------------------------------------------------- VBDs


def test_a_vbd_maps_sectors_onto_its_extents_in_order(tmp_path):
    one, two = image(tmp_path, "one.img", 8192), image(tmp_path, "two.img", 8192)
    vbd = Vbd([(two, 4096, 1024), (one, 512, 2048)])
    assert vbd.sectors == 6
    pieces = vbd.pieces(1, 3)
    assert [(p.offset, p.length) for p in pieces] == [(4608, 512), (512, 1024)]
    vbd.write(1, [memoryview(b"A" * 512), memoryview(b"B" * 1024)])
    assert two.read_bytes()[4608:5120] == b"A" * 512
    assert one.read_bytes()[512:1536] == b"B" * 1024
    out = bytearray(1536)
    vbd.readinto(1, [memoryview(out)])
    assert bytes(out) == b"A" * 512 + b"B" * 1024
    with pytest.raises(VbdError):
        vbd.pieces(5, 2)  # one sector past the end
    with pytest.raises(ValueError, match="past its end"):
        Vbd([(one, 4096, 8192)])
    with pytest.raises(ValueError, match="whole number of sectors"):
        Vbd([(one, 100, 512)])


# ---------------------------------------------------------------------- the elevator


class Req:
    def __init__(self, source: str, offset: int | None, barrier: bool = False) -> None:
        self.source = source
        self.position = None if offset is None else ((0, 1), offset)
        self.is_barrier = barrier

    def __repr__(self) -> str:
        return f"{self.source}{'!' if self.is_barrier else ''}{self.position and self.position[1]}"


def offsets(order) -> list:
    return [r.position and r.position[1] for r in order]


def test_the_elevator_sweeps_upwards_from_where_it_stopped_then_wraps():
    elevator = Elevator()
    first = [Req("a", o) for o in (50, 10, 30)]
    assert offsets(elevator.order(first)) == [10, 30, 50]
    second = [Req("a", o) for o in (20, 70, 60, 5)]
    assert offsets(elevator.order(second)) == [60, 70, 5, 20]  # C-SCAN: up from 50, wrap
    assert elevator.sweeps == 1


def test_nothing_of_a_vbd_crosses_its_barrier_but_other_vbds_join_the_sweep():
    batch = [
        Req("a", 40),
        Req("b", 90),
        Req("a", 10),
        Req("a", 60, barrier=True),
        Req("a", 5),
        Req("b", 1),
        Req("a", None, barrier=True),  # a flush
        Req("a", 0),
    ]
    order = Elevator().order(batch)
    assert [(r.source, offsets([r])[0]) for r in order] == [
        ("b", 1),
        ("a", 10),
        ("a", 40),
        ("b", 90),
        ("a", 60),  # the barrier: after every earlier request of a...
        ("a", 5),  # ...before every later one
        ("a", None),
        ("a", 0),
    ]
    moved = overtakers(batch, order)
    assert [offsets([r])[0] for r in moved] == [1, 10]  # each served before an earlier one


# ---------------------------------------------------------------------- hostile front ends


class FakeFront:
    """A front end played from Python in a real (paused) guest: its ring page is one of
    the guest's frames, its port one the guest offered domain 0."""

    def __init__(self, host: Host, domain, device, *, ring_pfn: int = 900) -> None:
        self.host, self.domain, self.device = host, domain, device
        self.memory = host.xen.machine.memory
        self.mfn = domain.p2m[ring_pfn]
        sring = SharedRing(self.memory, self.mfn, abi.BLKIF_ENTRY_SIZE)
        sring.init()
        self.ring = FrontRing(sring)
        self.port = domain.events.allocate(Channel(PortState.UNBOUND, remote_dom=0))
        self.next_id = 0

    def connect(self, ring_ref: int | None = None, port: int | None = None) -> None:
        store, fe, domid = self.host.store, self.device.frontend, self.domain.domid
        store.write(f"{fe}/ring-ref", str(self.mfn if ring_ref is None else ring_ref), domid=domid)
        store.write(f"{fe}/event-channel", str(self.port if port is None else port), domid=domid)
        store.write(f"{fe}/state", "3", domid=domid)

    def data_frame(self, pfn: int) -> int:
        return self.domain.p2m[pfn]

    def request(self, op: int, sector: int, segments, nr_segments: int | None = None) -> int:
        seg = bytearray(abi.BLKIF_MAX_SEGMENTS_PER_REQUEST * abi.BLKIF_REQUEST_SEGMENT.size)
        for i, (gref, first, last) in enumerate(segments[: abi.BLKIF_MAX_SEGMENTS_PER_REQUEST]):
            abi.BLKIF_REQUEST_SEGMENT.pack_into(
                seg, i * abi.BLKIF_REQUEST_SEGMENT.size, gref=gref, first_sect=first, last_sect=last
            )
        self.next_id += 1
        abi.BLKIF_REQUEST.pack_into(
            self.ring.get_request(),
            operation=op,
            nr_segments=len(segments) if nr_segments is None else nr_segments,
            handle=0,
            id=self.next_id,
            sector_number=sector,
            seg=bytes(seg),
        )
        self.ring.req_prod_pvt += 1
        return self.next_id

    def kick(self) -> None:
        """Publish, notify, and let domain 0 run until it has nothing left to do."""
        self.ring.push_requests()
        notify_remote(self.domain, self.port)
        for _ in range(100):
            if not self.host.dom0.service():
                return
        raise AssertionError("domain 0 never went idle")

    def responses(self) -> dict[int, int]:
        """id -> status of every response waiting."""
        out = {}
        while self.ring.has_unconsumed_responses():
            rsp = abi.BLKIF_RESPONSE.unpack_from(self.ring.get_response())
            out[rsp["id"]] = rsp["status"]
            self.ring.rsp_cons += 1
        return out


@pytest.fixture
def fake(tmp_path):
    """A paused xenolite (it never runs: Python plays its front end) with a 64 KiB disk
    that is the second half of a file whose first half is another domain's."""
    path = tmp_path / "shared.img"
    path.write_bytes(b"\xaa" * 65536 + bytes(65536))
    host = Host(64)
    victim = host.create("xenolite", name="victim", memory_mib=4)
    guest = host.create("xenolite", name="guest", memory_mib=4)
    host.pause("victim")
    host.pause("guest")
    attach_vbd(host, victim, Vbd([(path, 0, 65536)]))
    device = attach_vbd(host, guest, Vbd([(path, 65536, 65536)]))
    front = FakeFront(host, guest, device)
    front.connect()
    assert device.connected
    return host, victim, guest, device, front, path


def test_a_well_formed_request_from_the_fake_front_end_is_served(fake):
    host, _, _, device, front, path = fake
    frame = front.data_frame(901)
    host.xen.machine.memory.write(frame << 12, b"hello, disk!" + bytes(500))
    rid = front.request(abi.BLKIF_OP_WRITE, 3, [(frame, 0, 0)])
    front.kick()
    assert front.responses() == {rid: abi.BLKIF_RSP_OKAY}
    assert path.read_bytes()[65536 + 3 * 512 :][:12] == b"hello, disk!"
    assert device.stats.sectors_written == 1


HOSTILE = {
    "twelve segments": (abi.BLKIF_OP_READ, 0, "12 segments"),
    "a read of no segment": (abi.BLKIF_OP_READ, 0, "no segment"),
    "first sector after the last": (abi.BLKIF_OP_READ, 0, "sectors 5..4"),
    "a ninth sector in a page": (abi.BLKIF_OP_READ, 0, "sectors 0..8"),
    "the other domain's frame": (abi.BLKIF_OP_READ, 0, "not domain 2's"),
    "a frame beyond the machine": (abi.BLKIF_OP_READ, 0, "not a frame of this machine"),
    "a page table to read into": (abi.BLKIF_OP_READ, 0, "in use as L3"),
    "shared_info": (abi.BLKIF_OP_WRITE, 0, "shared_info"),
    "sectors beyond the end": (abi.BLKIF_OP_READ, 127, "outside the VBD's 128"),
    "a sector number near 2**64": (abi.BLKIF_OP_WRITE, 2**64 - 1, "outside"),
    "an unknown operation": (7, 0, "unknown operation 7"),
    "a flush with data": (abi.BLKIF_OP_FLUSH_DISKCACHE, 0, "a flush carries no data"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_request_gets_an_error_response_and_touches_nothing(fake, case):
    host, victim, guest, device, front, path = fake
    op, sector, why = HOSTILE[case]
    own = front.data_frame(901)
    segments = {
        "twelve segments": [(own, 0, 0)] * 12,
        "a read of no segment": [],
        "first sector after the last": [(own, 5, 4)],
        "a ninth sector in a page": [(own, 0, 8)],
        "the other domain's frame": [(victim.p2m[901], 0, 7)],
        "a frame beyond the machine": [(0xFFFFFFFF, 0, 0)],
        "a page table to read into": [(guest.vcpu.baseptr, 0, 0)],
        "shared_info": [(guest.shared_info_mfn, 0, 0)],
        "sectors beyond the end": [(own, 0, 1)],
        "a sector number near 2**64": [(own, 0, 0)],
        "an unknown operation": [(own, 0, 0)],
        "a flush with data": [(own, 0, 0)],
    }[case]
    memory = host.xen.machine.memory
    # (shared_info is not compared: the response's notification sets a pending bit in it.)
    frames = [victim.p2m[901], guest.vcpu.baseptr, own]
    before = [memory.read(f << 12, 4096) for f in frames]
    file_before = path.read_bytes()
    rid = front.request(op, sector, segments, nr_segments=len(segments))
    front.kick()
    expected = abi.BLKIF_RSP_EOPNOTSUPP if op == 7 else abi.BLKIF_RSP_ERROR
    assert front.responses() == {rid: expected}
    assert why in device.last_refusal
    assert [memory.read(f << 12, 4096) for f in frames] == before
    assert path.read_bytes() == file_before
    assert device.connected and device.stats.errors == 1
    assert host.xen.check_invariants() == []


def test_a_barrier_is_written_after_what_came_before_and_fsynced_before_what_follows(
    fake, monkeypatch
):
    _, _, _, device, front, _ = fake
    events = []
    real_pwritev, real_fsync = os.pwritev, os.fsync
    monkeypatch.setattr(
        os, "pwritev", lambda fd, bufs, off: events.append(off) or real_pwritev(fd, bufs, off)
    )
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    frame = front.data_frame(901)
    base = 65536  # the guest's extent starts here in the file
    ids = [
        front.request(abi.BLKIF_OP_WRITE, 40, [(frame, 0, 0)]),
        front.request(abi.BLKIF_OP_WRITE, 20, [(frame, 0, 0)]),
        front.request(abi.BLKIF_OP_WRITE_BARRIER, 30, [(frame, 0, 0)]),
        front.request(abi.BLKIF_OP_WRITE, 10, [(frame, 0, 0)]),  # lowest: cannot jump ahead
        front.request(abi.BLKIF_OP_FLUSH_DISKCACHE, 0, []),
    ]
    front.kick()
    sector = [base + n * 512 for n in (20, 40, 30, 10)]
    # 20 and 40 sorted; the barrier (30) after both, then fsync; 10 only after it; the flush.
    assert events == [sector[0], sector[1], sector[2], "fsync", sector[3], "fsync"]
    assert front.responses() == dict.fromkeys(ids, abi.BLKIF_RSP_OKAY)
    assert (device.stats.writes, device.stats.barriers, device.stats.flushes) == (3, 1, 1)
    assert device.stats.reorders == 1  # sector 20 went before sector 40


def test_a_front_end_may_close_and_connect_again(fake):
    host, _, guest, device, front, _ = fake
    store, fe = host.store, device.frontend
    store.write(f"{fe}/state", "6", domid=guest.domid)
    assert not device.connected and device.state is XenbusState.CLOSED
    assert not host.xen.foreign_mappings and host.xen.check_invariants() == []
    store.write(f"{fe}/state", "1", domid=guest.domid)
    assert device.state is XenbusState.INIT_WAIT
    front.port = guest.events.allocate(Channel(PortState.UNBOUND, remote_dom=0))
    front.connect()
    assert device.connected and host.xen.foreign_mappings[front.mfn] == 1
    rid = front.request(abi.BLKIF_OP_READ, 0, [(front.data_frame(901), 0, 7)])
    front.kick()
    assert front.responses() == {rid: abi.BLKIF_RSP_OKAY}


def test_lying_ring_indices_disconnect_the_front_end_with_a_reason(fake):
    host, _, _, device, front, _ = fake
    front.ring.sring.req_prod = 1000  # 1000 requests in a 32-slot ring
    notify_remote(front.domain, front.port)
    for _ in range(3):
        host.dom0.service()  # no exception escapes
    assert not device.connected
    assert any("RING_REQUEST_PROD_OVERFLOW" in line for line in host.xen.log)
    assert host.store.read(f"{device.backend}/state") == b"6"
    assert not host.xen.foreign_mappings  # the ring page was let go
    assert host.xen.check_invariants() == []


@pytest.mark.parametrize(
    "which, why",
    [
        ("page table", "in use as L3"),
        ("other domain", "not domain 2's"),
        ("bad port", "event-channel 77"),
    ],
)
def test_a_ring_the_back_end_must_not_map_is_refused(tmp_path, which, why):
    host = Host(64)
    victim = host.create("xenolite", name="victim", memory_mib=4)
    guest = host.create("xenolite", name="guest", memory_mib=4)
    host.pause("victim")
    host.pause("guest")
    device = attach_disk(host, guest, image(tmp_path))
    front = FakeFront(host, guest, device)
    ring_ref = {"page table": guest.vcpu.baseptr, "other domain": victim.p2m[900]}.get(which)
    front.connect(ring_ref=ring_ref, port=77 if which == "bad port" else None)
    assert not device.connected and why in device.error
    assert host.store.read(f"{device.backend}/state") == b"6"
    assert any(why in line for line in host.xen.log)
    assert not host.xen.foreign_mappings and host.xen.check_invariants() == []


def test_a_full_ring_from_each_of_two_domains_is_taken_one_request_per_domain_per_turn(tmp_path):
    host = Host(64)
    guests = [host.create("xenolite", name=f"g{i}", memory_mib=4) for i in range(2)]
    fronts = []
    for guest in guests:
        host.pause(guest.name)
        device = attach_disk(host, guest, image(tmp_path, f"{guest.name}.img"))
        fronts.append(FakeFront(host, guest, device))
        fronts[-1].connect()
    service = block_service(host)
    service.max_batch = 8
    for front, count in zip(fronts, (32, 3), strict=True):
        for i in range(count):
            front.request(abi.BLKIF_OP_READ, 8 * (count - i), [(front.data_frame(901), 0, 7)])
        front.ring.push_requests()
        notify_remote(front.domain, front.port)
    while host.dom0.service():
        pass
    trace = list(service.trace)
    first = sorted((t for t in trace if t.batch == 1), key=lambda t: t.arrival)
    assert [t.domid for t in first] == [1, 2, 1, 2, 1, 2, 1, 1]  # round-robin, then g0 alone
    assert len(trace) == 35 and max(t.batch for t in trace) == 5
    assert [len(f.responses()) for f in fronts] == [32, 3]
    assert MAX_BATCH == 64


# ---------------------------------------------------------------------- durability

DRIVER = """
import sys
from xenlab.dom0.block import attach_disk
from xenlab.toolstack.host import Host

host = Host(64)
domain = host.create("xenolite", name="durable", cmdline="blk=1 ops=1000000 seed=7")
attach_disk(host, domain, sys.argv[1])
seen = 0
while True:
    host.run(max_instructions=200_000)
    text = domain.console
    sys.stdout.write(text[seen:])
    sys.stdout.flush()
    seen = len(text)
"""


def test_every_write_acknowledged_before_a_sigkill_is_in_the_image(tmp_path):
    """The host process dies (SIGKILL) in the middle of the workload; every write the guest
    saw acknowledged must be in the image file — whatever instant the kill fell on."""
    path = image(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        text=True,
    )
    output, acks = "", 0
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 60
    try:
        while acks < 60:  # K ack lines, then the kill
            assert time.monotonic() < deadline, output
            if selector.select(timeout=1):
                line = proc.stdout.readline()
                assert line, f"the driver died: {proc.stderr.read()}"
                output += line
                acks += bool(ACK.match(line.rstrip("\n")))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        selector.close()
    assert proc.returncode == -signal.SIGKILL
    acked = acked_writes(output)
    assert len(acked) >= 30
    data = path.read_bytes()
    for block, gen in acked.items():
        found = stamp_generation(data[block * BLOCK : (block + 1) * BLOCK], block)
        assert found >= gen, f"block {block}: acknowledged generation {gen}, the file has {found}"
    # And the guest agrees: every block is either never written or a consistent stamp.
    host = Host(64)
    domain = host.create("xenolite", name="after", cmdline="blk=1 verify=1")
    attach_disk(host, domain, path)
    run_workload(host, domain)
    assert re.search(
        r"blk: verify: 256 blocks: \d+ written, \d+ never written, 0 bad", domain.console
    )
