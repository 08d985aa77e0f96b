"""What every split driver in domain 0 shares (Xen's xenbus, back-end side).

* :class:`XenbusState` — the state a driver publishes in its xenstore directory, through
  which a front end and its back end step each other to Connected (``io/xenbus.h``);
* :func:`frame_refused` — the check domain 0 makes before it uses a page a front end names
  by machine frame number (xenlab has no grant tables: paper 2003's design).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from xenlab.xen.frametable import PageType

if TYPE_CHECKING:
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
