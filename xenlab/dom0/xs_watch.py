"""xenstore watches: telling clients that a node changed (Xen 3.0+).

Part of the store (:mod:`xenlab.dom0.xenstore`): ``XenstoreWatches`` holds the methods of
``Xenstore`` that register watches and fire them (``docs/misc/xenstore.txt``, WATCH and
WATCH_EVENT; C xenstored's ``xenstored_watch.c`` where the document is vague).  A wire client
gets an XS_WATCH_EVENT message; domain 0's Python code (a back end watching a front end's
``state``) gets a callback.  Events go out in registration order, so runs are deterministic.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xenlab.dom0.xs_paths import XenstoreError, canonical_path, domain_path, is_child, parent_of
from xenlab.dom0.xs_perms import Perm, access

if TYPE_CHECKING:
    from xenlab.dom0.xenstore import Node, Quota
    from xenlab.dom0.xs_wire import Connection

WatchCallback = Callable[[str, str], None]  # (event path, token)


@dataclass(eq=False)
class Watch:
    """One registered watch (XS_WATCH <wpath>|<token>|, or ``Xenstore.watch``)."""

    conn: Connection
    path: str  # absolute, or "@..." for a special watch
    token: str
    prefix_len: int  # a relative watch gets relative event paths: strip "<home>/"
    callback: WatchCallback | None  # Python watchers; wire watchers get XS_WATCH_EVENT


class XenstoreWatches:
    """The watch part of ``Xenstore`` (mixed into it); the state it uses is the store's."""

    quota: Quota
    callback_errors: list[tuple[str, BaseException]]
    _nodes: dict[str, Node]
    _special: dict[str, tuple[Perm, ...]]  # permissions of @introduceDomain, @releaseDomain
    _watches: list[Watch]
    _callbacks: deque[tuple[WatchCallback, str, str]]
    _running_callbacks: bool

    def _watch(
        self, conn: Connection, path: str, token: str, callback: WatchCallback | None
    ) -> Watch:
        if "\0" in path or "\0" in token:
            raise XenstoreError("EINVAL", "NUL in a watch path or token")
        if path.startswith("@"):  # "<wspecial> may have any syntax"
            wpath, prefix_len = path, 0
        else:
            wpath = canonical_path(path, conn.domid)
            prefix_len = 0 if path.startswith("/") else len(domain_path(conn.domid)) + 1
        if any(w.path == wpath and w.token == token for w in conn._watches):
            raise XenstoreError("EEXIST", f"already watching {wpath} with that token")
        if not conn.privileged and len(conn._watches) >= self.quota.watches_per_connection:
            raise XenstoreError("E2BIG", f"domain {conn.domid} has too many watches")
        watch = Watch(conn, wpath, token, prefix_len, callback)
        conn._watches.append(watch)
        self._watches.append(watch)
        return watch

    def _unwatch(self, conn: Connection, path: str, token: str) -> None:
        wpath = path if path.startswith("@") else canonical_path(path, conn.domid)
        for watch in conn._watches:
            if watch.path == wpath and watch.token == token:
                conn._watches.remove(watch)
                self._watches.remove(watch)
                return
        raise XenstoreError("ENOENT", f"no watch on {wpath} with that token")

    def _fire(self, path: str, before: Mapping[str, Node], *, recursive: bool) -> None:
        """Tell every watch that ``path`` changed (xenstore.txt, WATCH).  The event path
        matches a watch if it is a child of the watched path; and when a subtree was
        removed, a watch inside it hears of it with its own path ("if the event was the
        recursive removal of a parent of <wpath>, <epath> is just <wpath>")."""
        for watch in list(self._watches):
            if watch.path.startswith("@"):
                continue
            if is_child(path, watch.path):
                epath = path
            elif recursive and is_child(watch.path, path):
                epath = watch.path
            else:
                continue
            if watch.conn.privileged or self._may_see(watch.conn.domid, epath, before):
                self._deliver(watch, epath)

    def _may_see(self, domid: int, path: str, before: Mapping[str, Node]) -> bool:
        """Whether a watcher may hear that ``path`` changed.  xenstore.txt asks that
        watches respect permissions; as C xenstored's ``watch_permitted``, the node or its
        parent must be readable — now, or before the change (a node just removed, or whose
        permissions just changed, is judged by what it was too)."""
        for p in (path, parent_of(path)):
            for tree in (self._nodes, before):
                node = tree.get(p)
                if node is not None and "r" in access(node.perms, domid):
                    return True
        return False

    def _fire_special(self, name: str) -> None:
        perms = self._special[name]
        for watch in list(self._watches):
            if watch.path == name and "r" in access(perms, watch.conn.domid):
                self._deliver(watch, name)

    def _deliver(self, watch: Watch, epath: str) -> None:
        # "Iff <wpath> for the watch was specified as a relative pathname, the <epath> path
        # will also be relative."
        epath = epath[watch.prefix_len :]
        if watch.callback is None:
            watch.conn._event(epath, watch.token)
            return
        # Python watchers run after the change is complete, one at a time, in order; a
        # callback that writes to the store queues its own events behind the current ones.
        self._callbacks.append((watch.callback, epath, watch.token))
        if self._running_callbacks:
            return
        self._running_callbacks = True
        try:
            while self._callbacks:
                callback, p, token = self._callbacks.popleft()
                try:
                    callback(p, token)
                except Exception as exc:  # a watcher's bug must not break the daemon
                    self.callback_errors.append((token, exc))
        finally:
            self._running_callbacks = False
