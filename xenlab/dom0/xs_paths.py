"""xenstore's paths, and the error every store operation raises.

Part of the store (:mod:`xenlab.dom0.xenstore`): what a valid node name is, how a relative path
is made absolute (a domain's home, ``/local/domain/<domid>``), and when one path is "a child
of" another, which decides what a watch hears.  All as ``docs/misc/xenstore.txt`` defines them,
with C xenstored's ``is_valid_nodename`` where the document is vague.
"""

from __future__ import annotations

import string

from xenlab.abi import xenstore as xs

_PATH_CHARS = frozenset(string.ascii_letters + string.digits + "-/_@")
DOMID_FIRST_RESERVED = 0x7FF0  # xen.h: DOMID_SELF and up are not real domains


class XenstoreError(Exception):
    """An operation failed; ``errno`` is the name xenstored sends back ("EACCES", ...)."""

    def __init__(self, errno: str, detail: str = "") -> None:
        if errno not in xs.XSD_ERRORS:
            raise ValueError(f"{errno} is not an xs_wire.h error name")
        super().__init__(f"{errno}: {detail}" if detail else errno)
        self.errno = errno
        self.detail = detail


def domain_path(domid: int) -> str:
    """A domain's home, the base of its relative paths (XS_GET_DOMAIN_PATH)."""
    return f"/local/domain/{domid}"


def parent_of(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def basename(path: str) -> str:
    return path.rsplit("/", 1)[1]


def join_path(parent: str, name: str) -> str:
    return f"/{name}" if parent == "/" else f"{parent}/{name}"


def is_child(child: str, parent: str) -> bool:
    """xenstore.txt: <child> is a child of <parent> if identical, if <parent> is /, or if
    <parent>/ is an initial substring of <child>."""
    return parent == "/" or child == parent or child.startswith(parent + "/")


def _valid_path(path: str) -> bool:
    """xenstored's ``is_valid_nodename``: absolute, no // nor trailing /, at most 3072 bytes,
    only alphanumerics and -/_@."""
    return (
        path.startswith("/")
        and (path == "/" or not path.endswith("/"))
        and "//" not in path
        and len(path) <= xs.XENSTORE_ABS_PATH_MAX
        and set(path) <= _PATH_CHARS
    )


def canonical_path(path: str, domid: int) -> str:
    """An absolute path: a relative one is taken relative to the caller's home."""
    if not path.startswith("/"):
        if not path or len(path) > xs.XENSTORE_REL_PATH_MAX:
            raise XenstoreError("EINVAL", f"bad path {path[:64]!r}")
        path = f"{domain_path(domid)}/{path}"
    if not _valid_path(path):
        raise XenstoreError("EINVAL", f"bad path {path[:64]!r}")
    return path
