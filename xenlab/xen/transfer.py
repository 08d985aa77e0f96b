"""Page flipping: a machine frame changes owner (paper §3.3.5, "exchanges a free page").

To receive a packet without copying it into the guest, the 2003 Xen received it into a page
of its own and then *exchanged* that page for a free page the guest had named in its receive
request (a "PTE to swap").  Xen 2.0 moved the same exchange into domain 0's back end
(``MMUEXT_REASSIGN_PAGE``), Xen 3 into grant tables (``GNTTABOP_transfer`` into an entry the
guest marked ``GTF_accept_transfer``).  xenlab has no grant tables: a guest names the frame it
gives up by its machine frame number (the I/O decisions), and domain 0's netback calls
:func:`exchange_frames`.

What makes a change of owner safe is the frame table (``frametable.py``): a frame may leave a
domain only when nothing but that domain's allocation reference holds it — no mapping in any
page table (the old owner could read the new owner's data through it), no type (it is no page
table, GDT or LDT frame, whose contents Xen vouches for), no pin, no back end's reference (a
ring page), and it is none of the pages Xen or domain 0 write into by themselves (shared_info,
the console and xenstore rings).  It then arrives like a newly allocated frame: one allocation
reference, no type, and an invalid M2P entry until its new owner says which pseudo-physical
page it is (``MMU_MACHPHYS_UPDATE``, paper §3.3.4).  Its bytes move with it: the receiver of
a flipped page reads what the giver left there, which is the point (the packet); the giver
must not leave anything else (netback scrubs the pages it receives).

Translated code is keyed by machine address, so a frame that held code under its old owner
must not run that code under its new one: each transferred frame is marked stale, and
:func:`flush_after_transfers` drops exactly those frames' translations, once per batch of
transfers (the caller's job, before any domain runs again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xenlab.abi import errno
from xenlab.xen.setup import M2P_INVALID

if TYPE_CHECKING:
    from xenlab.hw.machine import Machine
    from xenlab.xen.domain import Domain


def transfer_refused(domain: Domain, mfn: int) -> str | None:
    """Why ``domain`` may not give frame ``mfn`` away now (None: it may)."""
    ft = domain.frametable
    if not 0 <= mfn < ft.nr_frames:
        return "not a frame of this machine"
    if ft.owner[mfn] != domain.domid or not ft.count[mfn]:
        return f"not domain {domain.domid}'s"
    if mfn in (domain.shared_info_mfn, domain.console_mfn, domain.store_mfn):
        return "a page Xen or domain 0 writes into (shared_info, console or store ring)"
    if ft.type_count[mfn] or ft.pinned[mfn]:
        return "still typed or pinned (a page table, descriptor frame, or mapped writable)"
    if ft.count[mfn] != 1:
        return f"still referenced ({ft.count[mfn] - 1} mapping(s) or back-end reference(s))"
    return None


def _hand_over(mfn: int, to_domain: Domain) -> None:
    """The bookkeeping of one change of owner (the caller checked the frame)."""
    ft = to_domain.frametable
    ft.owner[mfn] = to_domain.domid  # the allocator's owner list: one list for both
    ft.assign(mfn)  # a fresh allocation reference, no type, no pin
    to_domain.hole.set_m2p(mfn, M2P_INVALID)  # until the new owner names its pfn
    to_domain.machine.cpu.mark_stale(mfn)  # its old owner's code must not run for the new


def transfer_frame(from_domain: Domain, to_domain: Domain, mfn: int) -> int:
    """Move frame ``mfn`` from one domain's reservation to the other's (Xen 2.0's
    ``MMUEXT_REASSIGN_PAGE``): 0, or -EINVAL if the frame may not leave ``from_domain``
    (:func:`transfer_refused`), -ENOMEM if ``to_domain`` is at its maximum."""
    if from_domain is to_domain:
        return -errno.EINVAL
    if transfer_refused(from_domain, mfn) is not None:
        return -errno.EINVAL
    if to_domain.tot_pages >= to_domain.max_pages:
        return -errno.ENOMEM
    _hand_over(mfn, to_domain)
    from_domain.tot_pages -= 1
    to_domain.tot_pages += 1
    return 0


def exchange_frames(a: Domain, a_mfn: int, b: Domain, b_mfn: int) -> int:
    """The page flip: ``a_mfn`` goes from ``a`` to ``b`` and ``b_mfn`` from ``b`` to ``a``,
    both or neither.  Each domain gives one frame and gets one, so neither reservation
    changes.  0, or -EINVAL if either frame may not leave its owner."""
    if a is b or a_mfn == b_mfn:
        return -errno.EINVAL
    if transfer_refused(a, a_mfn) is not None or transfer_refused(b, b_mfn) is not None:
        return -errno.EINVAL
    _hand_over(a_mfn, b)
    _hand_over(b_mfn, a)
    return 0


def flush_after_transfers(machine: Machine) -> None:
    """Drop the translated code of the frames transferred since the last call: they may
    have held their old owner's code, and the CPU keys translations by machine address.
    Once per batch, before any domain runs."""
    machine.cpu.invalidate_stale()
