"""What every split driver in domain 0 shares (Xen's xenbus, back-end side).

* :class:`XenbusState` — the state a driver publishes in its xenstore directory, through
  which a front end and its back end step each other to Connected (``io/xenbus.h``);
* :func:`frame_refused` — the check domain 0 makes before it uses a page a front end names
  by machine frame number (xenlab has no grant tables: paper 2003's design);
* :class:`XenbusBackend` — the back-end half every split driver shares (blkback, netback).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from xenlab.dom0.xenstore import Xenstore, XenstoreError
from xenlab.xen.frametable import PageType

if TYPE_CHECKING:
    from xenlab.dom0.domain0 import ControlDomain
    from xenlab.xen.domain import Domain


class XenbusState(enum.IntEnum):
    """A driver's state in its xenstore directory (Xen's ``io/xenbus.h``)."""

    UNKNOWN = 0
    INITIALISING = 1
    INIT_WAIT = 2  # the back end is ready for the front end's details
    INITIALISED = 3  # the front end has published ring-ref and event-channel
    CONNECTED = 4
    CLOSING = 5
    CLOSED = 6


def frame_refused(domain: Domain, mfn: int, *, writable: bool) -> str | None:
    """Why ``domain`` may not lend frame ``mfn`` to domain 0 (None: it may).

    The frame must be the domain's own, allocated, and not the shared_info page Xen lent
    it; ``writable`` (domain 0 will write into it) also needs a frame that can take the
    writable type — never a page table or descriptor table, which Xen validated.
    """
    ft = domain.frametable
    if not 0 <= mfn < ft.nr_frames:
        return "not a frame of this machine"
    if ft.owner[mfn] != domain.domid or not ft.count[mfn]:
        return f"not domain {domain.domid}'s"
    if mfn == domain.shared_info_mfn:
        return "shared_info is Xen's page, not the guest's to lend"
    if writable and ft.type_count[mfn] and ft.type[mfn] != PageType.WRITABLE:
        return f"in use as {PageType(ft.type[mfn]).name}, never writable"
    return None


class XenbusBackend:
    """Domain 0's half of one split device: its two xenstore directories, the handshake
    that steps both ends to Connected (Xen 3's ``xenbus`` back-end driver core), and the
    guest frames it holds while connected.

    A subclass names its ``kind`` (the xenstore device type) and ``driver`` (for the log),
    publishes its keys with :meth:`_publish`, and supplies ``_connect`` (map the rings, bind
    the port: called when the front end says Initialised), ``disconnect`` and ``label``.
    """

    kind = ""  # "vbd", "vif": the directory under device/ and backend/
    driver = ""  # "blkback", "netback": how the log names it

    def __init__(
        self,
        dom0: ControlDomain,
        store: Xenstore,
        domain: Domain,
        devid: int,
        kick: Callable[[Any], None],
        on_gone: Callable[[Any], None],
    ) -> None:
        self.dom0 = dom0
        self.xen = dom0.xen
        self.store = store
        self.domain = domain
        self.domid = domain.domid
        self.devid = devid
        self._kick = kick
        self._on_gone = on_gone
        self.frontend = f"{store.get_domain_path(self.domid)}/device/{self.kind}/{devid}"
        self.backend = f"{store.get_domain_path(0)}/backend/{self.kind}/{self.domid}/{devid}"
        self.error: str | None = None  # why the front end was refused or disconnected
        self.last_refusal: str | None = None  # why the last bad request was refused
        self.removed = False
        self._token = f"{self.driver}-{self.domid}-{devid}"

    @property
    def label(self) -> str:
        """How log lines name the device."""
        raise NotImplementedError

    def _connect(self) -> None:
        raise NotImplementedError

    def disconnect(self, reason: str | None) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ xenstore
    def _publish(self, front: Iterable[tuple[str, str]], back: Iterable[tuple[str, str]]) -> None:
        """Both halves of the directory, as xl writes them — the front end's owned by the
        guest (it writes its ring-refs, event-channel and state there), the back end's by
        domain 0 and readable by the guest — then wait in InitWait for the front end."""
        store, fe, be, domid = self.store, self.frontend, self.backend, self.domid
        store.mkdir(fe)
        store.set_perms(fe, [f"n{domid}", "r0"])
        front = [
            ("backend", be),
            ("backend-id", "0"),
            *front,
            ("state", str(int(XenbusState.INITIALISING))),
        ]
        for key, value in front:
            store.write(f"{fe}/{key}", value)
            store.set_perms(f"{fe}/{key}", [f"n{domid}", "r0"])
        store.mkdir(be)
        store.set_perms(be, ["n0", f"r{domid}"])
        for key, value in [("frontend", fe), ("frontend-id", str(domid)), *back]:
            store.write(f"{be}/{key}", value)
        self._set_state(XenbusState.INIT_WAIT)
        store.watch(f"{fe}/state", self._token, self._frontend_changed)

    def _set_state(self, state: XenbusState) -> None:
        self.store.write(f"{self.backend}/state", str(int(state)))

    @property
    def state(self) -> XenbusState:
        """The back end's state, as published."""
        try:
            return XenbusState(int(self.store.read(f"{self.backend}/state")))
        except (XenstoreError, ValueError):
            return XenbusState.CLOSED

    @property
    def connected(self) -> bool:
        return self.conn is not None  # type: ignore[attr-defined]

    def _read_frontend(self, key: str) -> int | None:
        """A number the front end wrote (decimal), or None if missing or not a number."""
        try:
            text = self.store.read(f"{self.frontend}/{key}").decode("ascii", "replace")
        except XenstoreError:
            return None
        return int(text) if text.isdigit() and len(text) < 20 else None

    def _frontend_changed(self, path: str, token: str) -> None:
        """The watch on the front end's ``state``: connect, disconnect, or go away."""
        if self.removed:
            return
        if not self.store.exists(self.frontend):
            self.remove("the front end's directory is gone (domain destroyed)")
            return
        state = self._read_frontend("state")
        if state in (XenbusState.INITIALISED, XenbusState.CONNECTED):
            if not self.connected and self.error is None:
                self._connect()
        elif state in (XenbusState.CLOSING, XenbusState.CLOSED):
            if self.connected:
                self.disconnect(None)
                self._set_state(XenbusState.CLOSED)
        elif state == XenbusState.INITIALISING and not self.connected:
            # A front end starting over (after a failure or a close): wait for it again.
            self.error = None
            self._set_state(XenbusState.INIT_WAIT)

    def _fail(self, reason: str) -> None:
        """Refuse the front end: log why, tell it through the store (``error``, Closed)."""
        self.error = reason
        self.xen.log.append(f"(dom0) {self.driver}: {self.label}: {reason}")
        with contextlib.suppress(XenstoreError):  # the directory is being removed
            self.store.write(f"{self.backend}/error", reason)
            self._set_state(XenbusState.CLOSED)

    # ------------------------------------------------------------------ guest frames
    def _frame_refused(self, mfn: int, *, writable: bool) -> str | None:
        return frame_refused(self.domain, mfn, writable=writable)

    def _hold_frame(self, mfn: int) -> str | None:
        """Take a page and writable-type reference on a ring page, as a writable grant
        mapping would (the guest can then neither balloon it away nor make it a page table
        under domain 0); recorded in ``xen.foreign_mappings`` for the invariant checker.
        Why it was refused, or None."""
        why = self._frame_refused(mfn, writable=True)
        if why is None and self.xen.frametable.get_page_and_type(
            mfn, PageType.WRITABLE, self.domid
        ):
            why = "it cannot be mapped writable (a page table or descriptor frame?)"
        if why is None:
            self.xen.foreign_mappings[mfn] += 1
        return why

    def _release_frame(self, mfn: int) -> None:
        mappings = self.xen.foreign_mappings
        mappings[mfn] -= 1
        if mappings[mfn] <= 0:
            del mappings[mfn]
        ft = self.xen.frametable
        # If the domain was destroyed behind our back, its frames were reset: nothing to drop.
        if (
            self.xen.domains.get(self.domid) is self.domain
            and ft.owner[mfn] == self.domid
            and ft.type_count[mfn] > 0
        ):
            ft.put_page_and_type(mfn, self.domid)

    # ------------------------------------------------------------------ going away
    def remove(self, reason: str) -> None:
        """The device goes away (its domain was destroyed, or the toolstack detaches it)."""
        if self.removed:
            return
        self.removed = True
        self.disconnect(None)
        with contextlib.suppress(XenstoreError):  # gone with the domain's home already
            self.store.unwatch(f"{self.frontend}/state", self._token)
        for path in (self.backend, self.frontend):
            with contextlib.suppress(XenstoreError):
                self.store.rm(path)
        self._closed()
        self.xen.log.append(f"(dom0) {self.driver}: {self.label} removed: {reason}")
        self._on_gone(self)

    def _closed(self) -> None:
        """What the device itself releases when it goes away (a VBD's files)."""
