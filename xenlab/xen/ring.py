"""Shared I/O rings (paper §3.2, "asynchronous I/O rings"; Xen's ``io/ring.h``).

A ring is one page of machine memory shared by a front end (a guest's driver: it produces
requests and consumes responses) and a back end (a driver domain or Xen: it consumes requests
and produces responses).  The page starts with a 64-byte header — the two shared producer
indices ``req_prod`` and ``rsp_prod`` and the two event thresholds ``req_event`` and
``rsp_event`` — followed by a power-of-two array of slots, each big enough for one request or
one response (``xenlab.abi.ring`` has the layouts).  The paper's "descriptor ring with
producer-consumer pointers": each end advances only its own producer index in the page and
keeps its consumer index, and a private producer index, to itself.

Indices are free-running unsigned 32-bit counters: every difference is taken modulo 2**32 and
a slot is ``idx & (size - 1)``, so the indices may wrap past 2**32 with no special case.

Notifications are batched by the event thresholds: a producer notifies the other end (an event
channel send) only if the consumer's threshold lies among the entries it has just published,
i.e. in (old, new].  A consumer about to sleep sets the threshold to "the next entry" and looks
once more (``final_check_for_*``), so a producer that published in between is never missed.

The back end trusts nothing in the page: every index it reads is checked
(``RING_REQUEST_PROD_OVERFLOW``, ``RING_REQUEST_CONS_OVERFLOW``) and a violation raises
:class:`RingError`, so a hostile front end can make it stop but never read or write outside
the ring.  The front end checks the back end's ``rsp_prod`` the same way.  Methods called with
their default index follow the protocol and check it; called with an explicit index they are
the bare ``RING_GET_*`` macros (the slot is still masked into the page).

:class:`ByteRing` is the other kind of ring: the console and xenstore pages carry byte streams,
not slots, with the same free-running indices but no event thresholds.

Who calls what: a back end (a block, net, console or xenstore device) builds a
:class:`SharedRing` on the page the guest shared and drives a :class:`BackRing` over it; a
:class:`FrontRing` lets Python play the guest (tests, notebooks).  Each ``snapshot()`` is plain
data for a notebook widget to draw.  The guests' C twin is ``guests/include/xen/io/ring.h``.

Barriers: Xen's macros order stores with ``xen_wmb()`` and a store followed by a load with
``xen_mb()``; here every access is a Python call under one interpreter lock, so the comments
mark where they would be, and the order of the accesses is the order the macros use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xenlab.abi import ring as abi
from xenlab.abi import xenstore
from xenlab.abi.layout import PAGE_SHIFT, PAGE_SIZE
from xenlab.hw.memory import MachineMemory

_MASK = abi.RING_IDX_MASK


class RingError(Exception):
    """An index the ring protocol forbids: written into the page by a misbehaving other end,
    or asked for by the caller.  The message names the indices."""


def _sub(a: int, b: int) -> int:
    """``a - b`` as RING_IDX arithmetic: how far index ``a`` is ahead of index ``b``."""
    return (a - b) & _MASK


def _slots(start: int, end: int, size: int) -> list[int]:
    """The slots of indices start, start+1, ..., end-1 (at most ``size`` of them)."""
    return [(start + i) & (size - 1) for i in range(min(_sub(end, start), size))]


class _Index:
    """A private RING_IDX of one end, kept modulo 2**32 so that ``ring.req_cons += 1`` wraps
    as the C ``req_cons++`` does."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = "_" + name

    def __get__(self, obj: object, objtype: type | None = None) -> Any:
        return self if obj is None else getattr(obj, self.attr)

    def __set__(self, obj: object, value: int) -> None:
        setattr(obj, self.attr, value & _MASK)


def _check_frame(memory: MachineMemory, mfn: int) -> int:
    base = mfn << PAGE_SHIFT
    if mfn < 0 or not memory.valid(base, PAGE_SIZE):
        raise ValueError(f"mfn {mfn:#x} is not a frame of this machine")
    return base


class SharedRing:
    """The shared page of one ring (Xen's ``struct NAME_sring``), at machine frame ``mfn``.

    The four header fields are read from and written to machine memory on every access: the
    other end may change them at any time.
    """

    def __init__(self, memory: MachineMemory, mfn: int, entry_size: int) -> None:
        self.base = _check_frame(memory, mfn)
        self.memory = memory
        self.mfn = mfn
        self.entry_size = entry_size
        self.size = abi.ring_size(entry_size)  # RING_SIZE: a power of two
        self.page = memory.frame(mfn)

    def _get(self, offset: int) -> int:
        return self.memory.read_u32(self.base + offset)

    def _set(self, offset: int, value: int) -> None:
        self.memory.write_u32(self.base + offset, value & _MASK)

    @property
    def req_prod(self) -> int:
        return self._get(abi.SRING_REQ_PROD)

    @req_prod.setter
    def req_prod(self, value: int) -> None:
        self._set(abi.SRING_REQ_PROD, value)

    @property
    def req_event(self) -> int:
        return self._get(abi.SRING_REQ_EVENT)

    @req_event.setter
    def req_event(self, value: int) -> None:
        self._set(abi.SRING_REQ_EVENT, value)

    @property
    def rsp_prod(self) -> int:
        return self._get(abi.SRING_RSP_PROD)

    @rsp_prod.setter
    def rsp_prod(self, value: int) -> None:
        self._set(abi.SRING_RSP_PROD, value)

    @property
    def rsp_event(self) -> int:
        return self._get(abi.SRING_RSP_EVENT)

    @rsp_event.setter
    def rsp_event(self, value: int) -> None:
        self._set(abi.SRING_RSP_EVENT, value)

    def init(self) -> None:
        """``SHARED_RING_INIT``: an empty ring whose first entry each way will notify
        (event 1 lies in (0, 1])."""
        self.req_prod = self.rsp_prod = 0
        self.req_event = self.rsp_event = 1
        self.page[abi.SRING_PAD : abi.SRING_RING] = bytes(abi.SRING_RING - abi.SRING_PAD)

    def slot(self, idx: int) -> memoryview:
        """The writable slot of index ``idx`` (``&ring[idx & (RING_SIZE - 1)]``): always
        inside the page, whatever ``idx`` is."""
        start = abi.SRING_RING + (idx & (self.size - 1)) * self.entry_size
        return self.page[start : start + self.entry_size]

    def snapshot(self) -> dict[str, object]:
        """The page as a third party sees it.  ``pending_requests``: slots of requests
        published and not yet answered; ``pending_responses`` is None, since only the front
        end knows how far it has consumed."""
        req_prod, rsp_prod = self.req_prod, self.rsp_prod
        return {
            "mfn": self.mfn,
            "size": self.size,
            "entry_size": self.entry_size,
            "req_prod": req_prod,
            "req_event": self.req_event,
            "rsp_prod": rsp_prod,
            "rsp_event": self.rsp_event,
            "pending_requests": _slots(rsp_prod, req_prod, self.size),
            "pending_responses": None,
        }


class FrontRing:
    """The front end's half (``struct NAME_front_ring``): it fills request slots at
    ``req_prod_pvt``, publishes them, and consumes responses at ``rsp_cons``.

    ``FrontRing(sring)`` is ``FRONT_RING_INIT``; ``start`` other than 0 is
    ``FRONT_RING_ATTACH`` to a ring whose indices are all ``start``.  The caller advances
    ``req_prod_pvt`` and ``rsp_cons`` itself, as C code does.
    """

    req_prod_pvt = _Index()  # requests filled in, published or not
    rsp_cons = _Index()  # responses consumed

    def __init__(self, sring: SharedRing, start: int = 0) -> None:
        self.sring = sring
        self.req_prod_pvt = start
        self.rsp_cons = start

    @property
    def size(self) -> int:
        return self.sring.size

    def free_requests(self) -> int:
        """``RING_FREE_REQUESTS``: slots neither holding a request nor an unconsumed response."""
        return self.size - _sub(self.req_prod_pvt, self.rsp_cons)

    def full(self) -> bool:
        """``RING_FULL``."""
        return self.free_requests() <= 0

    def get_request(self, idx: int | None = None) -> memoryview:
        """``RING_GET_REQUEST``: the slot to fill for request ``idx`` (default
        ``req_prod_pvt``, the next one; refused if the ring is full)."""
        if idx is None:
            if self.full():
                raise RingError(
                    f"front ring full: req_prod_pvt={self.req_prod_pvt:#x} is "
                    f"{self.size} ahead of rsp_cons={self.rsp_cons:#x}"
                )
            idx = self.req_prod_pvt
        return self.sring.slot(idx)

    def push_requests(self) -> None:
        """``RING_PUSH_REQUESTS``: publish the filled slots without asking about notifying."""
        self._check_own_requests()
        # xen_wmb(): the back end must see the slots before the index that publishes them.
        self.sring.req_prod = self.req_prod_pvt

    def push_requests_and_check_notify(self) -> bool:
        """``RING_PUSH_REQUESTS_AND_CHECK_NOTIFY``: publish, and return whether the back end
        asked to be notified of one of the new requests (``req_event`` in (old, new])."""
        self._check_own_requests()
        old, new = self.sring.req_prod, self.req_prod_pvt
        # xen_wmb(): slots before the index.
        self.sring.req_prod = new
        # xen_mb(): the back end may be in its final check, about to sleep.  Publishing before
        # reading req_event means either it sees the new requests or we see its new threshold.
        return _sub(new, self.sring.req_event) < _sub(new, old)

    def has_unconsumed_responses(self) -> int:
        """``RING_HAS_UNCONSUMED_RESPONSES``: how many responses wait at ``rsp_cons``.

        Raises :class:`RingError` if the back end published more responses than the ring holds
        (``RING_RESPONSE_PROD_OVERFLOW``) or than there are requests outstanding.
        """
        rsp_prod = self.sring.rsp_prod  # read once: the back end may change it at any time
        waiting = _sub(rsp_prod, self.rsp_cons)
        if waiting > self.size:
            raise RingError(
                f"RING_RESPONSE_PROD_OVERFLOW: rsp_prod={rsp_prod:#x} is {waiting} ahead of "
                f"rsp_cons={self.rsp_cons:#x}, ring size {self.size}"
            )
        outstanding = _sub(self.req_prod_pvt, self.rsp_cons)
        if waiting > outstanding:
            raise RingError(
                f"rsp_prod={rsp_prod:#x} answers requests never made: only {outstanding} "
                f"outstanding (rsp_cons={self.rsp_cons:#x}, req_prod_pvt={self.req_prod_pvt:#x})"
            )
        # xen_rmb(): read the slots only after the index that published them.
        return waiting

    def final_check_for_responses(self) -> bool:
        """``RING_FINAL_CHECK_FOR_RESPONSES``: True if responses wait; if none do, first ask to
        be notified of the next one (``rsp_event = rsp_cons + 1``) and look once more, which
        closes the window in which the back end published just before the new threshold."""
        if self.has_unconsumed_responses():
            return True
        self.sring.rsp_event = self.rsp_cons + 1
        # xen_mb(): the threshold store before the second look at rsp_prod.
        return self.has_unconsumed_responses() > 0

    def get_response(self, idx: int | None = None) -> memoryview:
        """``RING_GET_RESPONSE``: the slot of response ``idx`` (default ``rsp_cons``, the next
        to consume; refused if none waits).  ``bytes(view)`` is ``RING_COPY_RESPONSE``."""
        if idx is None:
            if not self.has_unconsumed_responses():
                raise RingError(f"no response waits at rsp_cons={self.rsp_cons:#x}")
            idx = self.rsp_cons
        return self.sring.slot(idx)

    def _check_own_requests(self) -> None:
        if _sub(self.req_prod_pvt, self.rsp_cons) > self.size:
            raise RingError(
                f"front end overfilled the ring: req_prod_pvt={self.req_prod_pvt:#x} is more "
                f"than {self.size} ahead of rsp_cons={self.rsp_cons:#x}"
            )

    def snapshot(self) -> dict[str, object]:
        """The shared page plus this end's indices.  ``pending_requests``: slots of requests
        filled and not yet answered (``unpushed_requests`` of them not yet published);
        ``pending_responses``: slots of responses not yet consumed.  ``error`` names a protocol
        violation in the page, if any."""
        snap = self.sring.snapshot()
        req_prod, rsp_prod, size = self.sring.req_prod, self.sring.rsp_prod, self.size
        snap.update(
            req_prod_pvt=self.req_prod_pvt,
            rsp_cons=self.rsp_cons,
            free_requests=self.free_requests(),
            pending_requests=_slots(rsp_prod, self.req_prod_pvt, size),
            unpushed_requests=_slots(req_prod, self.req_prod_pvt, size),
            pending_responses=_slots(self.rsp_cons, rsp_prod, size),
            error=_error(self.has_unconsumed_responses),
        )
        return snap


class BackRing:
    """The back end's half (``struct NAME_back_ring``): it consumes requests at ``req_cons``
    and fills response slots at ``rsp_prod_pvt``; a response reuses the slot of a consumed
    request, so the ring never holds more than ``size`` of both together.

    ``BackRing(sring)`` is ``BACK_RING_INIT``; ``start`` other than 0 is ``BACK_RING_ATTACH``.
    The caller advances ``req_cons`` and ``rsp_prod_pvt`` itself.
    """

    rsp_prod_pvt = _Index()  # responses filled in, published or not
    req_cons = _Index()  # requests consumed

    def __init__(self, sring: SharedRing, start: int = 0) -> None:
        self.sring = sring
        self.rsp_prod_pvt = start
        self.req_cons = start

    @property
    def size(self) -> int:
        return self.sring.size

    def request_prod_overflow(self, prod: int) -> bool:
        """``RING_REQUEST_PROD_OVERFLOW``: is ``prod`` more than a ring's worth of requests
        ahead of the back end's last response?  No honest front end publishes that far."""
        return _sub(prod, self.rsp_prod_pvt) > self.size

    def request_cons_overflow(self, cons: int) -> bool:
        """``RING_REQUEST_CONS_OVERFLOW``: would consuming request ``cons`` leave its response
        no slot (``size`` requests already consumed and unanswered)?"""
        return _sub(cons, self.rsp_prod_pvt) >= self.size

    def has_unconsumed_requests(self) -> int:
        """``RING_HAS_UNCONSUMED_REQUESTS``: how many requests wait at ``req_cons`` — the
        smaller of (req_prod - req_cons) and the slots still free for their responses,
        (size - (req_cons - rsp_prod_pvt)).

        Raises :class:`RingError` if the front end's ``req_prod`` is impossible: more requests
        than the ring holds (``RING_REQUEST_PROD_OVERFLOW``), or behind requests already
        consumed.
        """
        req_prod = self.sring.req_prod  # read once: the front end may change it at any time
        if self.request_prod_overflow(req_prod):
            raise RingError(
                f"RING_REQUEST_PROD_OVERFLOW: req_prod={req_prod:#x} is "
                f"{_sub(req_prod, self.rsp_prod_pvt)} ahead of rsp_prod_pvt="
                f"{self.rsp_prod_pvt:#x}, ring size {self.size}"
            )
        if _sub(req_prod, self.rsp_prod_pvt) < _sub(self.req_cons, self.rsp_prod_pvt):
            raise RingError(
                f"req_prod={req_prod:#x} went back behind req_cons={self.req_cons:#x} "
                f"(rsp_prod_pvt={self.rsp_prod_pvt:#x})"
            )
        # xen_rmb(): read the slots only after the index that published them.
        req = _sub(req_prod, self.req_cons)
        rsp = self.size - _sub(self.req_cons, self.rsp_prod_pvt)
        return min(req, rsp)

    def final_check_for_requests(self) -> bool:
        """``RING_FINAL_CHECK_FOR_REQUESTS``: True if requests wait; if none do, first ask to
        be notified of the next one (``req_event = req_cons + 1``) and look once more."""
        if self.has_unconsumed_requests():
            return True
        self.sring.req_event = self.req_cons + 1
        # xen_mb(): the threshold store before the second look at req_prod.
        return self.has_unconsumed_requests() > 0

    def get_request(self, idx: int | None = None) -> memoryview:
        """``RING_GET_REQUEST``: the slot of request ``idx`` (default ``req_cons``, the next to
        consume; refused if none waits).  Refused if consuming ``idx`` would overflow
        (``RING_REQUEST_CONS_OVERFLOW``).  The front end can rewrite the slot at any time, so a
        back end copies it before checking it: ``bytes(view)`` is ``RING_COPY_REQUEST``."""
        if idx is None:
            if not self.has_unconsumed_requests():
                raise RingError(f"no request waits at req_cons={self.req_cons:#x}")
            idx = self.req_cons
        if self.request_cons_overflow(idx):
            raise RingError(
                f"RING_REQUEST_CONS_OVERFLOW: request {idx:#x} is {_sub(idx, self.rsp_prod_pvt)} "
                f"ahead of rsp_prod_pvt={self.rsp_prod_pvt:#x}, ring size {self.size}"
            )
        return self.sring.slot(idx)

    def get_response(self, idx: int | None = None) -> memoryview:
        """``RING_GET_RESPONSE``: the slot to fill for response ``idx`` (default
        ``rsp_prod_pvt``, the next one; refused unless a consumed request awaits an answer)."""
        if idx is None:
            if not 0 < _sub(self.req_cons, self.rsp_prod_pvt) <= self.size:
                raise RingError(
                    f"no consumed request to answer: rsp_prod_pvt={self.rsp_prod_pvt:#x}, "
                    f"req_cons={self.req_cons:#x}"
                )
            idx = self.rsp_prod_pvt
        return self.sring.slot(idx)

    def push_responses(self) -> None:
        """``RING_PUSH_RESPONSES``: publish the filled slots without asking about notifying."""
        self._check_own_responses()
        # xen_wmb(): the front end must see the slots before the index that publishes them.
        self.sring.rsp_prod = self.rsp_prod_pvt

    def push_responses_and_check_notify(self) -> bool:
        """``RING_PUSH_RESPONSES_AND_CHECK_NOTIFY``: publish, and return whether the front end
        asked to be notified of one of the new responses (``rsp_event`` in (old, new])."""
        self._check_own_responses()
        old, new = self.sring.rsp_prod, self.rsp_prod_pvt
        # xen_wmb(): slots before the index.
        self.sring.rsp_prod = new
        # xen_mb(): publish before reading the front end's threshold (see the front's push).
        return _sub(new, self.sring.rsp_event) < _sub(new, old)

    def _check_own_responses(self) -> None:
        if _sub(self.req_cons, self.rsp_prod_pvt) > self.size:
            raise RingError(
                f"back end answered requests it never consumed: rsp_prod_pvt="
                f"{self.rsp_prod_pvt:#x} is past req_cons={self.req_cons:#x}"
            )

    def snapshot(self) -> dict[str, object]:
        """The shared page plus this end's indices.  ``pending_requests``: slots of requests
        published and not yet consumed; ``in_service``: consumed, not yet answered;
        ``unpushed_responses``: answered, not yet published; ``pending_responses`` is None
        (only the front end knows how far it has consumed).  ``error`` names a protocol
        violation in the page, if any."""
        snap = self.sring.snapshot()
        req_prod, rsp_prod, size = self.sring.req_prod, self.sring.rsp_prod, self.size
        snap.update(
            rsp_prod_pvt=self.rsp_prod_pvt,
            req_cons=self.req_cons,
            pending_requests=_slots(self.req_cons, req_prod, size),
            in_service=_slots(self.rsp_prod_pvt, self.req_cons, size),
            unpushed_responses=_slots(rsp_prod, self.rsp_prod_pvt, size),
            error=_error(self.has_unconsumed_requests),
        )
        return snap


def _error(check: Callable[[], object]) -> str | None:
    """The message of the RingError ``check()`` raises, or None: snapshots never raise."""
    try:
        check()
    except RingError as exc:
        return str(exc)
    return None


class ByteRing:
    """One direction of a byte ring in a page: the console's ``in``/``out`` (``io/console.h``)
    or xenstore's ``req``/``rsp`` (``io/xs_wire.h``).

    ``buffer`` is the offset of the ``size``-byte buffer (a power of two) in the page, ``cons``
    and ``prod`` the offsets of its two free-running indices; bytes ``cons .. prod-1`` are
    queued, each at ``idx & (size - 1)``.  Both indices live only in the page, so every
    operation reads them once and checks them: a ``prod - cons`` larger than the buffer raises
    :class:`RingError` (``XENCONS_RING_IDX``/``XENSTORE_RING_IDX`` arithmetic is the same
    RING_IDX arithmetic as the slot rings').  There are no event thresholds: the producer
    notifies after every write.
    """

    def __init__(
        self,
        memory: MachineMemory,
        mfn: int,
        *,
        buffer: int,
        size: int,
        cons: int,
        prod: int,
        name: str = "",
    ) -> None:
        if size <= 0 or size & (size - 1) or not 0 <= buffer <= PAGE_SIZE - size:
            raise ValueError(f"a byte ring needs a power-of-two buffer in the page, not {size}")
        if not (0 <= cons <= PAGE_SIZE - 4 and 0 <= prod <= PAGE_SIZE - 4):
            raise ValueError(f"the indices (at {cons:#x}, {prod:#x}) must lie in the page")
        self.base = _check_frame(memory, mfn)
        self.memory = memory
        self.mfn = mfn
        self.name = name
        self.size = size
        self.buf = memory.frame(mfn)[buffer : buffer + size]
        self._cons = self.base + cons
        self._prod = self.base + prod

    @classmethod
    def console_out(cls, memory: MachineMemory, mfn: int) -> ByteRing:
        """``xencons_interface.out``: the guest writes, the console back end reads."""
        return cls(
            memory,
            mfn,
            buffer=abi.XENCONS_OUT,
            size=abi.XENCONS_OUT_SIZE,
            cons=abi.XENCONS_OUT_CONS,
            prod=abi.XENCONS_OUT_PROD,
            name="console out",
        )

    @classmethod
    def console_in(cls, memory: MachineMemory, mfn: int) -> ByteRing:
        """``xencons_interface.in``: the console back end writes (keyboard), the guest reads."""
        return cls(
            memory,
            mfn,
            buffer=abi.XENCONS_IN,
            size=abi.XENCONS_IN_SIZE,
            cons=abi.XENCONS_IN_CONS,
            prod=abi.XENCONS_IN_PROD,
            name="console in",
        )

    @classmethod
    def xenstore_req(cls, memory: MachineMemory, mfn: int) -> ByteRing:
        """``xenstore_domain_interface.req``: the guest writes requests, xenstored reads."""
        return cls(
            memory,
            mfn,
            buffer=xenstore.XS_RING_REQ,
            size=xenstore.XENSTORE_RING_SIZE,
            cons=xenstore.XS_RING_REQ_CONS,
            prod=xenstore.XS_RING_REQ_PROD,
            name="xenstore req",
        )

    @classmethod
    def xenstore_rsp(cls, memory: MachineMemory, mfn: int) -> ByteRing:
        """``xenstore_domain_interface.rsp``: xenstored writes replies and watch events."""
        return cls(
            memory,
            mfn,
            buffer=xenstore.XS_RING_RSP,
            size=xenstore.XENSTORE_RING_SIZE,
            cons=xenstore.XS_RING_RSP_CONS,
            prod=xenstore.XS_RING_RSP_PROD,
            name="xenstore rsp",
        )

    @property
    def cons(self) -> int:
        return self.memory.read_u32(self._cons)

    @cons.setter
    def cons(self, value: int) -> None:
        self.memory.write_u32(self._cons, value)

    @property
    def prod(self) -> int:
        return self.memory.read_u32(self._prod)

    @prod.setter
    def prod(self, value: int) -> None:
        self.memory.write_u32(self._prod, value)

    def _indices(self) -> tuple[int, int, int]:
        """(cons, prod, queued), each index read once and checked."""
        cons, prod = self.cons, self.prod
        queued = _sub(prod, cons)
        if queued > self.size:
            raise RingError(
                f"{self.name or 'byte ring'}: prod={prod:#x} is {queued} ahead of "
                f"cons={cons:#x}, buffer size {self.size}"
            )
        return cons, prod, queued

    def queued(self) -> int:
        """Bytes written and not yet read."""
        return self._indices()[2]

    def free(self) -> int:
        """Bytes the producer may write now."""
        return self.size - self._indices()[2]

    def write(self, data: bytes) -> int:
        """As the producer: queue as much of ``data`` as fits, return how many bytes."""
        _, prod, queued = self._indices()
        n = min(len(data), self.size - queued)
        self._copy_in(prod, data[:n])
        # wmb(): the bytes before the index that publishes them.
        self.prod = prod + n
        return n

    def read(self, limit: int | None = None) -> bytes:
        """As the consumer: take up to ``limit`` (default all) queued bytes."""
        cons, _, queued = self._indices()
        n = queued if limit is None else max(0, min(limit, queued))
        # rmb(): the index before the bytes it published.
        data = self._copy_out(cons, n)
        # mb(): done reading the bytes before the producer may reuse them.
        self.cons = cons + n
        return data

    def _copy_in(self, idx: int, data: bytes) -> None:
        start = idx & (self.size - 1)
        first = min(len(data), self.size - start)  # up to the end of the buffer, then wrap
        self.buf[start : start + first] = data[:first]
        self.buf[: len(data) - first] = data[first:]

    def _copy_out(self, idx: int, n: int) -> bytes:
        start = idx & (self.size - 1)
        first = min(n, self.size - start)
        return bytes(self.buf[start : start + first]) + bytes(self.buf[: n - first])

    def snapshot(self) -> dict[str, object]:
        """Indices, size and the queued bytes as (buffer offset, length) spans."""
        cons, prod = self.cons, self.prod
        queued = min(_sub(prod, cons), self.size)
        start = cons & (self.size - 1)
        first = min(queued, self.size - start)
        spans = [(start, first)] if first else []
        if queued > first:
            spans.append((0, queued - first))
        return {
            "name": self.name,
            "mfn": self.mfn,
            "size": self.size,
            "cons": cons,
            "prod": prod,
            "queued": queued,
            "pending": spans,
            "error": _error(self._indices),
        }
