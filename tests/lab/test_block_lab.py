"""The block lab's checkers on hand-made traces and consoles: each one must catch what it
claims to (the notebook's asserts lean on them), and the stamp check must agree with
user_blk.c's."""

from __future__ import annotations

import array

from xenlab.dom0.block import TraceEntry
from xenlab.lab.block import (
    acked_writes,
    barrier_breaks,
    flushed_writes,
    round_robin_breaks,
    stamp_generation,
    sweep_wraps,
    without_acks,
    workload_result,
)


def entry(domid: int, op: str, offset: int | None, arrival: int, batch: int = 1) -> TraceEntry:
    sector = 0 if offset is None else offset // 512
    return TraceEntry(batch, domid, "xvda", op, sector, 8, offset, 0, arrival, False)


def test_round_robin_takes_one_per_domain_per_turn_until_one_runs_out() -> None:
    good = [entry(d, "read", 0, i) for i, d in enumerate([1, 2, 1, 2, 1, 1])]
    assert round_robin_breaks(good) == []
    unfair = [entry(d, "read", 0, i) for i, d in enumerate([1, 1, 2, 1, 2])]
    assert round_robin_breaks(unfair) == [1]
    turn_changed = [entry(d, "read", 0, i) for i, d in enumerate([1, 2, 2, 1])]
    assert round_robin_breaks(turn_changed) == [1]


def test_round_robin_looks_at_the_order_taken_not_the_order_served() -> None:
    served = [entry(2, "read", 0, 1), entry(1, "read", 512, 2), entry(1, "read", 1024, 0)]
    assert round_robin_breaks(served) == []


def test_a_request_moved_across_its_own_vbds_barrier_is_caught() -> None:
    before, barrier = entry(1, "write", 4096, 0), entry(1, "barrier", 8192, 1)
    after = entry(1, "write", 0, 2)
    other = entry(2, "write", 0, 3)  # another VBD's request may go either side
    assert barrier_breaks([before, other, barrier, after]) == []
    assert barrier_breaks([before, after, barrier]) == [(1, barrier, after)]
    assert barrier_breaks([barrier, before, after]) == [(1, barrier, before)]
    flush = entry(1, "flush", None, 1)
    assert barrier_breaks([after, flush, before]) == [(1, flush, after), (1, flush, before)]


def test_sweep_wraps_counts_the_times_the_head_goes_back_down() -> None:
    cscan = [entry(1, "read", o, i) for i, o in enumerate([300, 400, 100, 200])]
    fifo = [entry(1, "read", o, i, batch=2) for i, o in enumerate([300, 100, 400, 200])]
    held = [entry(1, "read", 5, 0, batch=3), entry(1, "barrier", 1, 1, batch=3)]
    assert sweep_wraps(cscan + fifo + held) == {1: 1, 2: 2}  # batches with barriers: skipped


def stamp(block: int, gen: int) -> bytes:
    """user_blk.c's stamp() in Python."""
    x = (((block + 1) * 2654435761) ^ (gen * 2246822519)) & 0xFFFFFFFF or 1
    words = array.array("I", [0x4B4C4258, block, gen, 0] + [0] * 1020)
    for i in range(4, 1024):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        words[i] = x
    h = 2166136261
    for i in (*range(3), *range(4, 1024)):
        h = ((h ^ words[i]) * 16777619) & 0xFFFFFFFF
    words[3] = h
    return words.tobytes()


def test_a_stamp_is_judged_as_user_blk_judges_it() -> None:
    good = stamp(7, 42)
    assert stamp_generation(good, 7) == 42
    assert stamp_generation(good, 8) == -1  # another block's stamp
    assert stamp_generation(bytes(4096), 7) == 0  # never written
    torn = good[:2048] + stamp(7, 43)[2048:]  # half of each of two writes
    assert stamp_generation(torn, 7) == -1


CONSOLE = """blk: 300 operations, seed 5
ack seq=1 block=3 gen=1
ack seq=2 block=4 gen=1
ack seq=3 flush
ack seq=4 block=3 gen=5
blk: 2 writes and 0 barriers (3 blocks), 0 reads (0 blocks), 1 flushes, 0 errors
blk: final check: 2 blocks written, 254 never written, 0 bad; 3 requests, 0 error responses
"""


def test_the_consoles_acks_and_summaries_are_read() -> None:
    assert acked_writes(CONSOLE) == {3: 5, 4: 1}
    assert flushed_writes(CONSOLE) == {3: 1, 4: 1}  # gen 5 of block 3 came after the flush
    result = workload_result(CONSOLE)
    assert (result["writes"], result["flushes"], result["written"], result["bad"]) == (2, 1, 2, 0)
    assert result["requests"] == 3 and "blocks" not in result  # no verify line
    assert without_acks(CONSOLE).count("ack seq") == 0 and "(4 ack lines left out)" in (
        without_acks(CONSOLE)
    )
