"""xenstore permissions: who may read or write a node.

Part of the store (:mod:`xenlab.dom0.xenstore`).  Every node carries a list of
``<perm-as-string>`` entries (``docs/misc/xenstore.txt``, SET_PERMS); ``access`` is how
xenstored reads such a list for one domain (``perm_for_conn``).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from xenlab.abi import xenstore as xs
from xenlab.dom0.xs_paths import XenstoreError

_ACCESS = {xs.XS_PERM_NONE: "", xs.XS_PERM_READ: "r", xs.XS_PERM_WRITE: "w", xs.XS_PERM_BOTH: "rw"}


@dataclass(frozen=True)
class Perm:
    """One ``<perm-as-string>``: a letter (n none, r read, w write, b both) and a domid.

    A node's list reads: first entry = owner and what everybody else may do; later entries =
    what a named domain may do instead.  ``("n0", "r5")``: dom0's, and only dom5 may read.
    """

    letter: str
    domid: int

    def __str__(self) -> str:
        return f"{self.letter}{self.domid}"

    @classmethod
    def parse(cls, text: str | Perm) -> Perm:
        if isinstance(text, Perm):
            return text
        digits = text[1:]
        if (
            len(text) < 2
            or text[0] not in _ACCESS
            or not all(c in string.digits for c in digits)
            or int(digits) > 0xFFFF
        ):
            raise XenstoreError("EINVAL", f"bad permission {text!r}")
        return cls(text[0], int(digits))


def parse_perms(entries: Iterable[str | Perm]) -> tuple[Perm, ...]:
    perms = tuple(Perm.parse(e) for e in entries)
    if not perms:
        raise XenstoreError("EINVAL", "a node needs at least an owner permission")
    return perms


def access(perms: Sequence[Perm], domid: int) -> str:
    """What ``domid`` may do with a node: a subset of "rw" (xenstored's ``perm_for_conn``).

    Domain 0 and the owner may do everything ("Owners and tools get it all"); otherwise the
    first later entry naming the domain decides, else the first entry's default.
    """
    if domid == 0 or perms[0].domid == domid:
        return "rw"
    for perm in perms[1:]:
        if perm.domid == domid:
            return _ACCESS[perm.letter]
    return _ACCESS[perms[0].letter]
