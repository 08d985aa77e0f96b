"""Lab 05 (rings): Xen's I/O rings, drawn and stepped.

* :func:`ring_html` — one ring's slots and indices as an HTML strip (requests published,
  being served, responses waiting; where the producer and event indices point);
* :class:`RingInspector` — a widget that steps a host a few thousand instructions at a time
  and redraws a ring, live while a guest does I/O;
* :class:`ToyRing` — a front end and a back end in Python over a real ring page, with the
  notification policy as parameters: the "debug this" exercise on the classic notification
  ping-pong (and the lost wake-up that the final check prevents).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets

from xenlab.hw.memory import MachineMemory
from xenlab.xen.ring import BackRing, ByteRing, FrontRing, SharedRing

_COLOURS = {
    "request": "#1f77b4",  # published, not yet taken by the back end
    "unpushed": "#aec7e8",  # filled by the front end, not yet published
    "service": "#ff7f0e",  # taken by the back end, no response yet
    "response": "#2ca02c",  # answered, not yet consumed by the front end
    "free": "#eeeeee",
}


def _slot_states(snap: dict) -> list[str]:
    size = int(snap["size"])
    states = ["free"] * size
    for key, state in (
        ("pending_requests", "request"),
        ("unpushed_requests", "unpushed"),
        ("in_service", "service"),
        ("pending_responses", "response"),
    ):
        for slot in snap.get(key) or []:
            states[slot] = state
    return states


def ring_html(snap: dict, *, title: str = "", columns: int = 32) -> str:
    """A slot ring's snapshot (``FrontRing``/``BackRing``/``SharedRing.snapshot()``) or a
    byte ring's (``ByteRing.snapshot()``) as HTML: one cell per slot, then the indices."""
    if "pending" in snap and "queued" in snap:  # a byte ring: draw 64-byte cells
        size, cells = int(snap["size"]), int(snap["size"]) // 64
        states = ["free"] * cells
        for start, length in snap["pending"]:
            for byte in range(start, start + length, 64):
                states[byte // 64 % cells] = "request"
        indices = {k: snap[k] for k in ("cons", "prod", "queued")}
    else:
        size = int(snap["size"])
        states = _slot_states(snap)
        indices = {
            k: snap[k]
            for k in (
                "req_prod",
                "req_event",
                "rsp_prod",
                "rsp_event",
                "req_prod_pvt",
                "rsp_cons",
                "req_cons",
                "rsp_prod_pvt",
            )
            if k in snap
        }
    rows = []
    for start in range(0, len(states), columns):
        cells_html = "".join(
            f'<td title="slot {i}" style="width:12px;height:12px;background:{_COLOURS[s]};'
            f'border:1px solid #fff"></td>'
            for i, s in enumerate(states[start : start + columns], start)
        )
        rows.append(f"<tr>{cells_html}</tr>")
    mask = size - 1
    index_rows = "".join(
        f"<tr><td><code>{name}</code></td><td>{value:#x}</td><td>slot {value & mask}</td></tr>"
        for name, value in indices.items()
    )
    legend = " ".join(
        f'<span style="background:{c};padding:0 6px">&nbsp;</span> {name}'
        for name, c in _COLOURS.items()
    )
    error = f'<p style="color:#c00">{snap["error"]}</p>' if snap.get("error") else ""
    return (
        f"<b>{title}</b> ({size} {'bytes' if 'queued' in snap else 'slots'})"
        f'<table style="border-collapse:collapse">{"".join(rows)}</table>'
        f"<small>{legend}</small><table>{index_rows}</table>{error}"
    )


class RingInspector:
    """Step ``run(n)`` (e.g. ``lambda n: host.run(max_instructions=n)``) and redraw the ring
    ``snapshot()`` returns after each step."""

    def __init__(
        self,
        run: Callable[[int], object],
        snapshot: Callable[[], dict],
        *,
        title: str,
        step: int = 5_000,
    ) -> None:
        self._run, self._snapshot, self.title = run, snapshot, title
        self.steps = 0
        self.history: list[dict] = []
        self.view = widgets.HTML()
        self.size = widgets.IntSlider(
            value=step, min=500, max=200_000, step=500, description="instructions"
        )
        self.button = widgets.Button(description="step")
        self.button.on_click(lambda _: self.step())
        self.widget = widgets.VBox([widgets.HBox([self.button, self.size]), self.view])
        self.redraw()

    def step(self) -> dict:
        self._run(self.size.value)
        self.steps += 1
        return self.redraw()

    def redraw(self) -> dict:
        snap = self._snapshot()
        self.history.append(snap)
        self.view.value = ring_html(snap, title=f"{self.title} — step {self.steps}")
        return snap


def byte_ring_snapshot(memory: MachineMemory, mfn: int, which: str) -> dict:
    """A live byte ring: ``which`` is console_out, console_in, xenstore_req or xenstore_rsp."""
    return getattr(ByteRing, which)(memory, mfn).snapshot()


# --------------------------------------------------------------------- the toy ring
_ENTRY = struct.Struct("<II")  # request: id, value; response: id, value * 2


@dataclass
class ToyStats:
    requests: int = 0
    responses: int = 0
    notify_back: int = 0  # front end -> back end events
    notify_front: int = 0  # back end -> front end events
    sleeps: int = 0  # times the back end went to sleep

    @property
    def requests_per_notification(self) -> float:
        return self.requests / self.notify_back if self.notify_back else float("inf")


class ToyRing:
    """A front end and a back end on one real ring page, stepped in Python.

    The back end serves a few requests per turn while awake, and *sleeps* when it finds
    nothing to do; only a notification wakes it.  Two ways to get it wrong:

    * ``eager=True`` — the back end re-arms ``req_event = req_cons + 1`` after *every*
      request it takes, even while awake: every request the front end pushes then raises an
      event, although nobody is asleep (the notification ping-pong);
    * ``final_check=False`` — going to sleep, it sets ``req_event`` after finding the ring
      empty and never looks again: a request published in between raises no event and is
      stranded (the lost wake-up ``RING_FINAL_CHECK_FOR_REQUESTS`` prevents).
    """

    def __init__(self, *, eager: bool = False, final_check: bool = True) -> None:
        self.memory = MachineMemory(64 << 10)
        self.sring = SharedRing(self.memory, 1, _ENTRY.size)
        self.sring.init()
        self.front = FrontRing(self.sring)
        self.back = BackRing(self.sring)
        self.eager = eager
        self.final_check = final_check
        self.back_asleep = True
        self.stats = ToyStats()

    def push(self, n: int) -> None:
        """The front end queues and publishes ``n`` requests, one at a time, notifying
        whenever ``req_event`` says the back end wants to hear.  First it takes the
        responses waiting, and re-arms ``rsp_event`` (its own final check)."""
        while self.front.has_unconsumed_responses():
            self.front.rsp_cons += 1
        self.front.final_check_for_responses()
        for _ in range(n):
            if self.front.full():
                return
            self.front.get_request(self.front.req_prod_pvt)[:] = _ENTRY.pack(
                self.stats.requests, self.stats.requests
            )
            self.front.req_prod_pvt += 1
            self.stats.requests += 1
            if self.front.push_requests_and_check_notify():
                self.stats.notify_back += 1
                self.back_asleep = False

    def serve(self, m: int, *, race: int = 0) -> None:
        """One turn of the back end: take up to ``m`` requests and answer them; if it finds
        none, go to sleep.  ``race`` requests are pushed by the front end right after the
        back end saw an empty ring — the window of the lost wake-up."""
        if self.back_asleep:
            return
        taken = 0
        while taken < m and self.back.has_unconsumed_requests():
            req_id, value = _ENTRY.unpack(bytes(self.back.get_request()))
            self.back.req_cons += 1
            if self.eager:
                self.sring.req_event = self.back.req_cons + 1  # the bug: re-armed while awake
            self.back.get_response(self.back.rsp_prod_pvt)[:] = _ENTRY.pack(req_id, 2 * value)
            self.back.rsp_prod_pvt += 1
            self.stats.responses += 1
            taken += 1
        if taken and self.back.push_responses_and_check_notify():
            self.stats.notify_front += 1
        if taken:
            return  # still awake: come back for more
        if race:
            self.push(race)
        if self.final_check:
            if self.back.final_check_for_requests():
                return  # work arrived while it was deciding to sleep: stay awake
        else:
            self.sring.req_event = self.back.req_cons + 1  # and no second look
        self.back_asleep = True
        self.stats.sleeps += 1

    @property
    def stranded(self) -> int:
        """Requests on the ring while the back end sleeps and nothing will wake it."""
        return self.back.has_unconsumed_requests() if self.back_asleep else 0

    def snapshot(self) -> dict:
        snap = self.back.snapshot()
        snap["rsp_cons"] = self.front.rsp_cons
        return snap


def toy_workload(
    ring: ToyRing, *, requests: int = 256, burst: int = 1, service: int = 2
) -> ToyStats:
    """The front end pushes ``burst`` requests per turn (one at a time); the back end
    serves up to ``service`` per turn."""
    while ring.stats.requests < requests:
        ring.push(min(burst, requests - ring.stats.requests))
        ring.serve(service)
    for _ in range(requests):
        ring.serve(service)
    return ring.stats
