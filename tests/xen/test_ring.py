"""Shared I/O rings (paper §3.2; Xen's ``io/ring.h``) on a real machine-memory page.

Property-based: hypothesis drives a front end and a back end through random interleavings of
pushes, consumes, responses and final checks, with random event thresholds, indices that start
just short of 2**32, and a lying peer that writes anything into the shared page.  The ring page
is machine frame 1 of three; frames 0 and 2 are filled with a guard pattern that must survive.
"""

from __future__ import annotations

import ctypes
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xenlab.abi import ring as abi
from xenlab.abi import xenstore
from xenlab.abi.layout import PAGE_SIZE
from xenlab.hw.memory import MachineMemory
from xenlab.xen.ring import BackRing, ByteRing, FrontRing, RingError, SharedRing

MASK = 0xFFFFFFFF
RING_MFN = 1
GUARD = bytes([0xA5]) * PAGE_SIZE
# Entry sizes giving rings of 1, 2, 4, 8, 32 (the block ring) and 256 (the net TX ring) slots.
ENTRY_SIZES = {1: 4032, 2: 2016, 4: 1008, 8: 504, 32: abi.BLKIF_ENTRY_SIZE, 256: 12}
ID = struct.Struct("<I")  # the id each request carries and its response echoes

# Deterministic and quick: no example database, the same examples on every run.
PROPERTY = settings(max_examples=120, deadline=None, derandomize=True, database=None)

sizes = st.sampled_from(sorted(ENTRY_SIZES))
# Indices start at 0, or a little short of 2**32 so that a run wraps them.
starts = st.one_of(st.just(0), st.integers(MASK - 300, MASK))
u32 = st.integers(0, MASK)


def machine() -> MachineMemory:
    memory = MachineMemory(3 * PAGE_SIZE)
    for mfn in (0, 2):
        memory.write(mfn * PAGE_SIZE, GUARD)
    return memory


def guards_intact(memory: MachineMemory) -> bool:
    return memory.read(0, PAGE_SIZE) == GUARD and memory.read(2 * PAGE_SIZE, PAGE_SIZE) == GUARD


def new_ring(
    size: int, start: int = 0, sring_type: type[SharedRing] = SharedRing
) -> tuple[MachineMemory, SharedRing, FrontRing, BackRing]:
    """SHARED_RING_INIT, then (for start != 0) every index moved to ``start``, as
    FRONT_RING_ATTACH / BACK_RING_ATTACH expect."""
    memory = machine()
    sring = sring_type(memory, RING_MFN, ENTRY_SIZES[size])
    sring.init()
    if start:
        sring.req_prod = sring.rsp_prod = start
        sring.req_event = sring.rsp_event = start + 1
    return memory, sring, FrontRing(sring, start), BackRing(sring, start)


def assert_in_ring(memory: MachineMemory, sring: SharedRing, view: memoryview) -> None:
    """``view`` is exactly one slot of the ring page: never the header, never past the page."""
    offset = ctypes.addressof(ctypes.c_char.from_buffer(view)) - memory.address()
    first_slot = RING_MFN * PAGE_SIZE + abi.SRING_RING
    assert len(view) == sring.entry_size
    assert first_slot <= offset <= RING_MFN * PAGE_SIZE + PAGE_SIZE - sring.entry_size
    assert (offset - first_slot) % sring.entry_size == 0


def threshold_crossed(old: int, new: int, event: int) -> bool:
    """The consumer's event index lies in (old, new]: the test's own wording of Xen's
    ``(new - event) < (new - old)``."""
    return 0 < (event - old) & MASK <= (new - old) & MASK


# --- A model of both ends: the ids each has seen, the ground truth the ring must reproduce ---


@dataclass
class Ends:
    memory: MachineMemory
    sring: SharedRing
    front: FrontRing
    back: BackRing
    next_id: int = 0
    produced: list[int] = field(default_factory=list)  # ids the front end pushed, in order
    consumed: list[int] = field(default_factory=list)  # ids the back end read, in order
    in_service: list[int] = field(default_factory=list)  # consumed, not yet answered
    answered: list[int] = field(default_factory=list)  # ids the back end answered, in order
    collected: list[int] = field(default_factory=list)  # responses the front end read

    @classmethod
    def new(cls, size: int, start: int, sring_type: type[SharedRing] = SharedRing) -> Ends:
        return cls(*new_ring(size, start, sring_type))

    def front_push(self, count: int) -> bool:
        """Fill up to ``count`` free slots, then RING_PUSH_REQUESTS_AND_CHECK_NOTIFY."""
        old, event = self.sring.req_prod, self.sring.req_event
        for _ in range(min(count, self.front.free_requests())):
            ID.pack_into(self.front.get_request(), 0, self.next_id)
            self.produced.append(self.next_id)
            self.next_id += 1
            self.front.req_prod_pvt += 1
        new = self.front.req_prod_pvt
        notify = self.front.push_requests_and_check_notify()
        if self.sring.req_event == event:  # (not moved by an interleaved final check)
            assert notify == threshold_crossed(old, new, event)
        return notify

    def back_consume(self, limit: int = 1 << 32) -> None:
        # At most what was produced: the front end may be mid-push, its requests not yet public.
        waiting = self.back.has_unconsumed_requests()
        assert waiting <= len(self.produced) - len(self.consumed)
        for _ in range(min(limit, waiting)):
            view = self.back.get_request()
            assert_in_ring(self.memory, self.sring, view)
            (request,) = ID.unpack_from(bytes(view))  # RING_COPY_REQUEST
            assert request == self.produced[len(self.consumed)]  # in order, none lost or twice
            self.back.req_cons += 1
            self.consumed.append(request)
            self.in_service.append(request)

    def back_respond(self, count: int, order: int = 0) -> bool:
        """Answer up to ``count`` requests in service, out of order (picked by ``order``),
        then RING_PUSH_RESPONSES_AND_CHECK_NOTIFY."""
        old, event = self.sring.rsp_prod, self.sring.rsp_event
        for i in range(min(count, len(self.in_service))):
            request = self.in_service.pop((order + 7 * i) % len(self.in_service))
            ID.pack_into(self.back.get_response(), 0, request)
            self.back.rsp_prod_pvt += 1
            self.answered.append(request)
        new = self.back.rsp_prod_pvt
        notify = self.back.push_responses_and_check_notify()
        if self.sring.rsp_event == event:
            assert notify == threshold_crossed(old, new, event)
        return notify

    def front_collect(self, limit: int = 1 << 32) -> None:
        waiting = self.front.has_unconsumed_responses()
        assert waiting <= len(self.answered) - len(self.collected)
        for _ in range(min(limit, waiting)):
            (response,) = ID.unpack_from(bytes(self.front.get_response()))
            assert response == self.answered[len(self.collected)]
            self.front.rsp_cons += 1
            self.collected.append(response)

    def check_invariants(self) -> None:
        """Between whole operations each end sees exactly what the other has published."""
        assert self.back.has_unconsumed_requests() == len(self.produced) - len(self.consumed)
        assert self.front.has_unconsumed_responses() == len(self.answered) - len(self.collected)
        outstanding = len(self.produced) - len(self.collected)
        assert self.front.free_requests() == self.front.size - outstanding
        assert (self.back.req_cons - self.back.rsp_prod_pvt) & MASK == len(self.in_service)

    def check_nothing_lost(self) -> None:
        """Every request reached the back end once, in order; every response came back once."""
        assert self.consumed == self.produced
        assert self.collected == self.answered
        assert sorted(self.collected) == self.produced
        assert guards_intact(self.memory)


protocol_steps = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(0, 40), st.integers(0, 0)),
        st.tuples(st.just("consume"), st.integers(0, 40), st.integers(0, 0)),
        st.tuples(st.just("respond"), st.integers(0, 40), st.integers(0, 1000)),
        st.tuples(st.just("collect"), st.integers(0, 40), st.integers(0, 0)),
        st.tuples(st.just("req_event"), st.integers(0, 600), st.integers(0, 0)),
        st.tuples(st.just("rsp_event"), st.integers(0, 600), st.integers(0, 0)),
        st.tuples(st.just("final_back"), st.integers(0, 0), st.integers(0, 0)),
        st.tuples(st.just("final_front"), st.integers(0, 0), st.integers(0, 0)),
    ),
    max_size=50,
)


@PROPERTY
@given(size=sizes, start=starts, steps=protocol_steps)
def test_any_interleaving_of_both_ends_loses_and_duplicates_nothing(
    size: int, start: int, steps: list[tuple[str, int, int]]
) -> None:
    ends = Ends.new(size, start)
    for op, n, order in steps:
        if op == "push":
            ends.front_push(n)
        elif op == "consume":
            ends.back_consume(n)
        elif op == "respond":
            ends.back_respond(n, order)
        elif op == "collect":
            ends.front_collect(n)
        elif op == "req_event":  # a back end batching: "notify me n requests from now"
            ends.sring.req_event = ends.back.req_cons + n
        elif op == "rsp_event":
            ends.sring.rsp_event = ends.front.rsp_cons + n
        elif op == "final_back":
            waiting = len(ends.produced) > len(ends.consumed)
            assert ends.back.final_check_for_requests() == waiting
            if not waiting:
                assert ends.sring.req_event == (ends.back.req_cons + 1) & MASK
        elif op == "final_front":
            waiting = len(ends.answered) > len(ends.collected)
            assert ends.front.final_check_for_responses() == waiting
            if not waiting:
                assert ends.sring.rsp_event == (ends.front.rsp_cons + 1) & MASK
        ends.check_invariants()
    ends.back_consume()
    ends.back_respond(len(ends.in_service))
    ends.front_collect()
    ends.check_nothing_lost()


@PROPERTY
@given(start=starts, old_ahead=st.integers(0, 256), new_ahead=st.integers(0, 256), event=u32)
def test_a_push_notifies_exactly_when_the_event_index_lies_in_old_new(
    start: int, old_ahead: int, new_ahead: int, event: int
) -> None:
    _, sring, front, back = new_ring(256, start)
    old, new = (start + min(old_ahead, new_ahead)) & MASK, (start + max(old_ahead, new_ahead))
    sring.req_prod = old
    front.req_prod_pvt = new
    sring.req_event = event
    assert front.push_requests_and_check_notify() == threshold_crossed(old, new, event)
    assert sring.req_prod == new & MASK
    back.rsp_prod_pvt, back.req_cons = new, new
    sring.rsp_prod, sring.rsp_event = old, event
    assert back.push_responses_and_check_notify() == threshold_crossed(old, new, event)


def test_indices_wrap_past_2_to_the_32_like_unsigned_c() -> None:
    ends = Ends.new(8, 0xFFFFFFF0)
    for round_ in range(10):
        ends.front_push(5)
        ends.back_consume()
        ends.back_respond(5, order=round_)
        ends.front_collect()
    assert ends.front.req_prod_pvt == ends.back.req_cons == 50 - 16
    assert ends.sring.req_prod == ends.sring.rsp_prod == 34
    ends.check_nothing_lost()


# --- Lost wakeups: the final check against a producer running in the middle of it ----------


class RacyRing(SharedRing):
    """A ring page on which the other end can run in the middle of a macro: after the
    ``point``-th access to a header field, ``arm``'s action runs once, whole."""

    action: Callable[[], None] | None = None
    countdown = 0

    def arm(self, point: int, action: Callable[[], None]) -> None:
        self.countdown, self.action = point, action

    def _tick(self) -> None:
        if self.action is not None:
            self.countdown -= 1
            if self.countdown <= 0:
                action, self.action = self.action, None
                action()

    def _get(self, offset: int) -> int:
        value = super()._get(offset)
        self._tick()
        return value

    def _set(self, offset: int, value: int) -> None:
        super()._set(offset, value)
        self._tick()


def interleave(
    sring: RacyRing, first: Callable[[], Any], second: Callable[[], Any], point: int
) -> tuple[Any, Any]:
    """Run ``first``, with ``second`` run whole after ``first``'s ``point``-th access to the
    ring header (before it if point is 0, after it if ``first`` makes fewer accesses)."""
    results: dict[str, Any] = {}

    def run_second() -> None:
        results["second"] = second()

    if point == 0:
        run_second()
    else:
        sring.arm(point, run_second)
    results["first"] = first()
    if "second" not in results:
        sring.action = None
        run_second()
    return results["first"], results["second"]


wakeup_steps = st.lists(
    st.tuples(
        st.sampled_from(["push", "back", "respond", "front"]),
        st.integers(1, 6),  # how many requests or responses
        st.integers(0, 8),  # where the other end cuts in
    ),
    max_size=40,
)


@PROPERTY
@given(size=sizes, start=starts, steps=wakeup_steps)
def test_an_end_that_sleeps_only_after_a_final_check_is_never_left_asleep_with_work(
    size: int, start: int, steps: list[tuple[str, int, int]]
) -> None:
    """Each end sleeps when its final check finds nothing, and wakes on the other end's
    notification (an event channel).  The other end may push at any point inside the final
    check, and the final check may run at any point inside a push.  A sleeping end with work
    waiting and no notification coming would wait forever: that must never happen."""
    ends = Ends.new(size, start, RacyRing)
    sring = ends.sring
    assert isinstance(sring, RacyRing)
    asleep = {"back": False, "front": False}
    event = {"back": False, "front": False}

    def back_idle() -> bool:  # drain, then RING_FINAL_CHECK_FOR_REQUESTS
        ends.back_consume()
        return ends.back.final_check_for_requests()

    def front_idle() -> bool:
        ends.front_collect()
        return ends.front.final_check_for_responses()

    for actor, n, point in steps:
        if actor == "push":  # the front end pushes; the back end may be going to sleep
            if asleep["back"]:
                event["back"] |= ends.front_push(n)
            else:
                notify, work = interleave(sring, partial(ends.front_push, n), back_idle, point)
                event["back"] |= notify
                asleep["back"] = not work
        elif actor == "back" and not asleep["back"]:  # drain, then a push cuts into the check
            ends.back_consume()
            work, notify = interleave(
                sring, ends.back.final_check_for_requests, partial(ends.front_push, n), point
            )
            event["back"] |= notify
            asleep["back"] = not work
        elif actor == "respond":  # the back end answers; the front end may be going to sleep
            if asleep["front"]:
                event["front"] |= ends.back_respond(n, point)
            else:
                notify, work = interleave(
                    sring, partial(ends.back_respond, n, 0), front_idle, point
                )
                event["front"] |= notify
                asleep["front"] = not work
        elif actor == "front" and not asleep["front"]:
            ends.front_collect()
            work, notify = interleave(
                sring, ends.front.final_check_for_responses, partial(ends.back_respond, n, 0), point
            )
            event["front"] |= notify
            asleep["front"] = not work
        for end in asleep:  # a pending notification wakes a sleeping end
            if asleep[end] and event[end]:
                asleep[end] = event[end] = False
        if asleep["back"]:
            assert ends.back.has_unconsumed_requests() == 0, "lost wakeup: requests wait"
        if asleep["front"]:
            assert ends.front.has_unconsumed_responses() == 0, "lost wakeup: responses wait"
    # Run to quiescence: the device completes whatever is in service (that wakes the back end
    # by other means); otherwise only notifications wake an end.  Nothing may be left behind.
    for _ in range(4):
        if not asleep["back"]:
            ends.back_consume()
        if ends.in_service:
            event["front"] |= ends.back_respond(len(ends.in_service))
        if not asleep["front"]:
            ends.front_collect()
        for end in asleep:
            if event[end]:
                asleep[end] = event[end] = False
    ends.check_nothing_lost()


def test_sleeping_after_a_plain_check_loses_a_wakeup_that_the_final_check_catches() -> None:
    ends = Ends.new(8, 0, RacyRing)
    sring = ends.sring
    assert isinstance(sring, RacyRing)
    assert ends.front_push(1)  # req_event 1 lies in (0, 1]: notified
    ends.back_consume()

    # Naive: look, and only then ask to be notified.  A push in between goes unnoticed.
    naive_work = ends.back.has_unconsumed_requests()
    notify = ends.front_push(1)
    sring.req_event = ends.back.req_cons + 1
    assert (naive_work, notify) == (0, False)
    assert ends.back.has_unconsumed_requests() == 1  # ... and the back end would sleep on it

    # RING_FINAL_CHECK_FOR_REQUESTS with the same push after its first look says "work".
    ends.back_consume()
    work, notify = interleave(
        sring, ends.back.final_check_for_requests, lambda: ends.front_push(1), 1
    )
    assert (work, notify) == (True, False)


# --- A lying other end -------------------------------------------------------------------

header_lies = st.lists(
    st.tuples(st.sampled_from(["req_prod", "req_event", "rsp_prod", "rsp_event"]), u32),
    min_size=1,
    max_size=4,
)
near_lies = st.lists(  # lies close to the truth, where off-by-one bugs live
    st.tuples(st.sampled_from(["req_prod", "rsp_prod"]), st.integers(-3, 260)),
    max_size=3,
)


def honest_prefix(ends: Ends, pushed: int, consumed: int, answered: int) -> None:
    ends.front_push(pushed)
    ends.back_consume(consumed)
    ends.back_respond(answered)


def tell_lies(ends: Ends, lies: list[tuple[str, int]], near: list[tuple[str, int]]) -> None:
    for name, value in lies:
        setattr(ends.sring, name, value)
    for name, delta in near:
        setattr(ends.sring, name, getattr(ends.sring, name) + delta)


@PROPERTY
@given(
    size=sizes,
    start=starts,
    prefix=st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40)),
    lies=header_lies,
    near=near_lies,
    respond=st.booleans(),
)
def test_a_back_end_stays_in_its_ring_whatever_the_front_end_writes(
    size: int,
    start: int,
    prefix: tuple[int, int, int],
    lies: list[tuple[str, int]],
    near: list[tuple[str, int]],
    respond: bool,
) -> None:
    ends = Ends.new(size, start)
    honest_prefix(ends, *prefix)
    tell_lies(ends, lies, near)
    ends.memory.write(RING_MFN * PAGE_SIZE + abi.SRING_RING, bytes(range(256)) * 15)  # garbage
    back, memory, sring = ends.back, ends.memory, ends.sring
    ahead = (sring.req_prod - back.rsp_prod_pvt) & MASK
    if ahead > size or ahead < (back.req_cons - back.rsp_prod_pvt) & MASK:
        with pytest.raises(RingError):  # an impossible req_prod is always caught
            back.has_unconsumed_requests()
    try:
        for _ in range(2 * size + 4):  # a netback-style loop, bounded by the ring, not by req_prod
            if not back.has_unconsumed_requests() and not back.final_check_for_requests():
                break
            assert_in_ring(memory, sring, back.get_request())
            back.req_cons += 1
            assert (back.req_cons - back.rsp_prod_pvt) & MASK <= size
            if respond:
                view = back.get_response()
                assert_in_ring(memory, sring, view)
                view[:4] = b"\xff\xff\xff\xff"
                back.rsp_prod_pvt += 1
                back.push_responses_and_check_notify()
        else:
            # Only a back end that answers can keep going; one that does not stops at size.
            assert respond
    except RingError as error:
        assert "0x" in str(error)  # the message names the bad indices
    json.dumps(back.snapshot())
    assert guards_intact(memory)


@PROPERTY
@given(
    size=sizes,
    start=starts,
    prefix=st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40)),
    lies=header_lies,
    near=near_lies,
)
def test_a_front_end_stays_in_its_ring_whatever_the_back_end_writes(
    size: int,
    start: int,
    prefix: tuple[int, int, int],
    lies: list[tuple[str, int]],
    near: list[tuple[str, int]],
) -> None:
    ends = Ends.new(size, start)
    honest_prefix(ends, *prefix)
    outstanding = len(ends.produced) - len(ends.collected)
    tell_lies(ends, lies, near)
    front, memory, sring = ends.front, ends.memory, ends.sring
    if (sring.rsp_prod - front.rsp_cons) & MASK > outstanding:
        with pytest.raises(RingError):  # an impossible rsp_prod is always caught
            front.has_unconsumed_responses()
    consumed = 0
    try:
        while front.final_check_for_responses():
            assert_in_ring(memory, sring, front.get_response())
            front.rsp_cons += 1
            consumed += 1
            assert consumed <= outstanding  # never more responses than requests made
        if front.free_requests() > 0:
            assert_in_ring(memory, sring, front.get_request())
            front.req_prod_pvt += 1
            front.push_requests_and_check_notify()
    except RingError as error:
        assert "0x" in str(error)
    json.dumps(front.snapshot())
    assert guards_intact(memory)


def test_a_req_prod_more_than_a_ring_ahead_is_a_request_prod_overflow() -> None:
    _, sring, _, back = new_ring(32)
    sring.req_prod = 33
    with pytest.raises(RingError, match=r"RING_REQUEST_PROD_OVERFLOW: req_prod=0x21"):
        back.has_unconsumed_requests()
    sring.req_prod = 32  # a full ring is fine
    assert back.has_unconsumed_requests() == 32


def test_a_req_prod_moved_back_behind_req_cons_is_refused() -> None:
    ends = Ends.new(32, 0)
    ends.front_push(5)
    ends.back_consume()
    ends.sring.req_prod = 3
    with pytest.raises(RingError, match="req_prod=0x3 went back behind req_cons=0x5"):
        ends.back.has_unconsumed_requests()


def test_consuming_more_than_a_ring_of_unanswered_requests_is_a_cons_overflow() -> None:
    ends = Ends.new(4, 0)
    ends.front_push(4)
    ends.back_consume()
    assert ends.back.has_unconsumed_requests() == 0
    ends.sring.req_prod = 5  # a front end pushing a fifth request into a full ring
    with pytest.raises(RingError, match="RING_REQUEST_PROD_OVERFLOW"):
        ends.back.get_request()
    with pytest.raises(RingError, match=r"RING_REQUEST_CONS_OVERFLOW: request 0x4 is 4 ahead"):
        ends.back.get_request(4)


def test_a_front_end_refuses_responses_it_never_asked_for() -> None:
    ends = Ends.new(32, 0)
    ends.front_push(3)
    ends.sring.rsp_prod = 40
    with pytest.raises(RingError, match=r"RING_RESPONSE_PROD_OVERFLOW: rsp_prod=0x28"):
        ends.front.has_unconsumed_responses()
    ends.sring.rsp_prod = 4
    with pytest.raises(RingError, match="answers requests never made: only 3 outstanding"):
        ends.front.get_response()


def test_each_end_refuses_to_overrun_its_own_side() -> None:
    ends = Ends.new(2, 0)
    ends.front_push(5)
    assert ends.front.full() and ends.produced == [0, 1]
    with pytest.raises(RingError, match="front ring full"):
        ends.front.get_request()
    with pytest.raises(RingError, match="no consumed request to answer"):
        ends.back.get_response()
    with pytest.raises(RingError, match="no response waits"):
        ends.front.get_response()


# --- Layout, sizes, initialisation, snapshots ----------------------------------------------


def test_the_standard_rings_have_xens_sizes() -> None:
    assert (abi.BLKIF_ENTRY_SIZE, abi.BLKIF_RING_SIZE) == (108, 32)
    assert (abi.NETIF_TX_ENTRY_SIZE, abi.NETIF_TX_RING_SIZE) == (12, 256)
    assert (abi.NETIF_RX_ENTRY_SIZE, abi.NETIF_RX_RING_SIZE) == (8, 256)


def _rd32(x: int) -> int:
    """ring.h's __RD32, transcribed."""

    def rd2(x: int) -> int:
        return 0x2 if x & 0x2 else x & 0x1

    def rd4(x: int) -> int:
        return rd2(x >> 2) << 2 if x & 0xC else rd2(x)

    def rd8(x: int) -> int:
        return rd4(x >> 4) << 4 if x & 0xF0 else rd4(x)

    def rd16(x: int) -> int:
        return rd8(x >> 8) << 8 if x & 0xFF00 else rd8(x)

    return rd16(x >> 16) << 16 if x & 0xFFFF0000 else rd16(x)


def test_ring_size_is_rd32_of_the_entries_that_fit_after_the_header() -> None:
    for entry_size in range(1, 4033):
        assert abi.ring_size(entry_size) == _rd32((4096 - 64) // entry_size)
    for bad in (0, -1, 4033):
        with pytest.raises(ValueError):
            abi.ring_size(bad)


def test_the_records_have_the_x86_32_layouts() -> None:
    assert abi.BLKIF_REQUEST.size == 108
    assert abi.BLKIF_REQUEST.offsets == {
        "operation": 0,
        "nr_segments": 1,
        "handle": 2,
        "id": 4,  # a uint64_t is 4-byte aligned inside a struct on x86_32
        "sector_number": 12,
        "seg": 20,
    }
    assert abi.BLKIF_REQUEST_SEGMENT.size == 8
    assert abi.BLKIF_RESPONSE.size == 12
    assert abi.BLKIF_RESPONSE.offsets == {"id": 0, "operation": 8, "status": 10}
    assert abi.NETIF_TX_REQUEST.size == 12
    assert abi.NETIF_TX_REQUEST.offsets == {"gref": 0, "offset": 4, "flags": 6, "id": 8, "size": 10}
    assert abi.NETIF_TX_RESPONSE.size == 4
    assert abi.NETIF_RX_REQUEST.offsets == {"id": 0, "gref": 4}
    assert abi.NETIF_RX_REQUEST.size == 8
    assert abi.NETIF_RX_RESPONSE.offsets == {"id": 0, "offset": 2, "flags": 4, "status": 6}


def test_a_record_packs_and_unpacks_by_field_name() -> None:
    buf = bytearray(abi.BLKIF_RESPONSE.size)
    abi.BLKIF_RESPONSE.pack_into(buf, id=1 << 40, status=abi.BLKIF_RSP_EOPNOTSUPP)
    assert buf[10:12] == b"\xfe\xff"
    assert abi.BLKIF_RESPONSE.unpack_from(buf) == {"id": 1 << 40, "operation": 0, "status": -2}
    with pytest.raises(TypeError, match="no field stat"):
        abi.BLKIF_RESPONSE.pack_into(buf, stat=0)


def test_shared_ring_init_empties_the_ring_and_asks_for_the_first_notifications() -> None:
    memory = machine()
    memory.write(RING_MFN * PAGE_SIZE, b"\x77" * PAGE_SIZE)
    sring = SharedRing(memory, RING_MFN, abi.BLKIF_ENTRY_SIZE)
    sring.init()
    assert (sring.req_prod, sring.req_event, sring.rsp_prod, sring.rsp_event) == (0, 1, 0, 1)
    assert memory.read(RING_MFN * PAGE_SIZE + 16, 48) == bytes(48)
    assert sring.size == 32 and guards_intact(memory)


def test_a_ring_must_be_a_frame_of_the_machine() -> None:
    with pytest.raises(ValueError, match="not a frame"):
        SharedRing(machine(), 3, 12)
    with pytest.raises(ValueError, match="not a frame"):
        ByteRing.console_out(machine(), -1)


def test_snapshots_are_plain_data_naming_the_pending_slots() -> None:
    ends = Ends.new(8, 0xFFFFFFFE)
    ends.front_push(5)  # slots 6 7 0 1 2
    ends.back_consume(3)
    ends.back_respond(1)  # id 0 answered, in slot 6
    front, back = ends.front.snapshot(), ends.back.snapshot()
    json.dumps([front, back, ends.sring.snapshot()])
    assert front["size"] == back["size"] == 8
    assert front["pending_requests"] == [7, 0, 1, 2]
    assert front["pending_responses"] == [6]
    assert front["free_requests"] == 3 and front["error"] is None
    assert back["pending_requests"] == [1, 2]
    assert back["in_service"] == [7, 0]
    assert back["pending_responses"] is None
    ends.sring.req_prod = 1000
    assert "RING_REQUEST_PROD_OVERFLOW" in ends.back.snapshot()["error"]


# --- Byte rings: the console and xenstore pages -------------------------------------------

BYTE_RINGS = {
    "console out": (ByteRing.console_out, abi.XENCONS_OUT, abi.XENCONS_OUT_SIZE),
    "console in": (ByteRing.console_in, abi.XENCONS_IN, abi.XENCONS_IN_SIZE),
    "xenstore req": (ByteRing.xenstore_req, xenstore.XS_RING_REQ, xenstore.XENSTORE_RING_SIZE),
    "xenstore rsp": (ByteRing.xenstore_rsp, xenstore.XS_RING_RSP, xenstore.XENSTORE_RING_SIZE),
}
byte_ring_names = st.sampled_from(sorted(BYTE_RINGS))


@PROPERTY
@given(
    name=byte_ring_names,
    start=starts,
    ops=st.lists(st.one_of(st.binary(max_size=700), st.integers(0, 900)), max_size=30),
)
def test_a_byte_ring_delivers_every_byte_once_and_in_order(
    name: str, start: int, ops: list[bytes | int]
) -> None:
    memory = machine()
    ring = BYTE_RINGS[name][0](memory, RING_MFN)
    ring.cons = ring.prod = start
    written, read = bytearray(), bytearray()
    for op in ops:
        if isinstance(op, bytes):
            free = ring.free()
            n = ring.write(op)
            assert n == min(len(op), free)
            written += op[:n]
        else:
            read += ring.read(op)
        assert ring.queued() == len(written) - len(read)
    read += ring.read()
    assert read == written
    assert ring.prod == (start + len(written)) & MASK and guards_intact(memory)


@PROPERTY
@given(name=byte_ring_names, cons=u32, prod=u32, data=st.binary(max_size=3000))
def test_a_byte_ring_stays_in_its_buffer_whatever_the_indices_say(
    name: str, cons: int, prod: int, data: bytes
) -> None:
    memory = machine()
    make, buffer, size = BYTE_RINGS[name]
    ring = make(memory, RING_MFN)
    page = RING_MFN * PAGE_SIZE
    memory.write(page, b"\x5a" * PAGE_SIZE)
    ring.cons, ring.prod = cons, prod
    before = memory.read(page, PAGE_SIZE)
    if (prod - cons) & MASK > size:
        with pytest.raises(RingError):  # an impossible pair of indices is always caught
            ring.queued()
    outside = [(0, buffer), (buffer + size, PAGE_SIZE)]
    for action in (lambda: ring.read(), lambda: ring.write(data), ring.snapshot):
        try:
            action()
        except RingError as error:
            assert f"cons={cons:#x}" in str(error)
            assert (prod - cons) & MASK > size
        after = memory.read(page, PAGE_SIZE)
        changed = {i for i in range(PAGE_SIZE) if before[i] != after[i]}
        own = set(range(ring._cons - page, ring._cons - page + 4))
        own |= set(range(ring._prod - page, ring._prod - page + 4))
        assert all(not (lo <= i < hi) or i in own for i in changed for lo, hi in outside)
    assert guards_intact(memory)


def test_the_console_and_xenstore_rings_sit_where_the_abi_says() -> None:
    memory = machine()
    page = RING_MFN * PAGE_SIZE
    assert ByteRing.console_out(memory, RING_MFN).write(b"hello") == 5
    assert memory.read(page + 0x400, 5) == b"hello" and memory.read_u32(page + 0xC0C) == 5
    memory.write(page, b"key")
    memory.write_u32(page + 0xC04, 3)
    assert ByteRing.console_in(memory, RING_MFN).read() == b"key"
    assert memory.read_u32(page + 0xC00) == 3
    memory.clear_frame(RING_MFN)
    ByteRing.xenstore_req(memory, RING_MFN).write(b"\x02\x00")
    assert memory.read(page, 2) == b"\x02\x00" and memory.read_u32(page + 2052) == 2
    memory.write(page + 1024 + 1023, b"AB"[:1])
    memory.write(page + 1024, b"B")
    rsp = ByteRing.xenstore_rsp(memory, RING_MFN)
    rsp.cons, rsp.prod = 1023, 1025  # wraps the end of rsp[]
    assert rsp.read() == b"AB" and memory.read_u32(page + 2056) == 1025
    assert rsp.snapshot()["pending"] == [] and rsp.snapshot()["queued"] == 0
