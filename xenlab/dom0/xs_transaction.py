"""xenstore transactions: several operations that commit together or not at all.

Part of the store (:mod:`xenlab.dom0.xenstore`).  ``docs/misc/xenstore.txt``, TRANSACTION_START
and TRANSACTION_END: a transaction works on a copy of the tree, and its commit fails with
EAGAIN if something it read or wrote changed meanwhile.  Every node carries a *generation*,
changed on every modification, which is how a commit sees that.  ``Space`` is where one
operation reads and writes (the live tree, or a transaction's copy); ``XenstoreTransactions``
holds the methods of ``Xenstore`` that start and end transactions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from xenlab.dom0.xs_paths import XenstoreError

if TYPE_CHECKING:
    from xenlab.dom0.xenstore import Node, Quota, Xenstore
    from xenlab.dom0.xs_wire import Connection


@dataclass(eq=False)
class Transaction:
    """xenstore.txt: "When transaction is started whole db is copied; reads and writes
    happen on the copy."  ``seen`` remembers, for every path the transaction looked at or
    changed, its generation in the copy (None: absent); commit fails with EAGAIN if any of
    them has changed in the live tree since ("only intervening `conflicting' writes")."""

    tx_id: int
    conn: Connection
    nodes: dict[str, Node]
    seen: dict[str, int | None] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)
    owned: Counter[int] = field(default_factory=Counter)  # change in nodes owned, per domain
    events: dict[tuple[str, bool], None] = field(default_factory=dict)  # fired at commit


class Space:
    """Where one operation reads and writes: the live tree, or a transaction's copy."""

    def __init__(self, store: Xenstore, tx: Transaction | None) -> None:
        self.store = store
        self.tx = tx
        self.nodes = tx.nodes if tx is not None else store._nodes

    def get(self, path: str) -> Node | None:
        node = self.nodes.get(path)
        if self.tx is not None:
            self.tx.seen.setdefault(path, node.gen if node is not None else None)
        return node

    def put(self, path: str, node: Node) -> None:
        self._count(self.get(path), -1)
        self.nodes[path] = replace(node, gen=self.store._next_gen())
        self._count(node, +1)
        if self.tx is not None:
            self.tx.written.add(path)

    def delete(self, path: str) -> None:
        self._count(self.get(path), -1)
        del self.nodes[path]
        if self.tx is not None:
            self.tx.written.add(path)

    def _count(self, node: Node | None, delta: int) -> None:
        """Keep the per-owner node counts the quota needs (xenstored's domain_entry_inc)."""
        if node is not None:
            counts = self.tx.owned if self.tx is not None else self.store._owned
            counts[node.perms[0].domid] += delta

    def owned(self, domid: int) -> int:
        extra = self.tx.owned[domid] if self.tx is not None else 0
        return self.store._owned[domid] + extra

    def changed(self, path: str, before: Mapping[str, Node], *, recursive: bool = False) -> None:
        """A node changed: fire watches now, or at commit for a transaction (xenstore.txt:
        "Changes made in transactions cause an event only if and when committed")."""
        if self.tx is not None:
            self.tx.events.setdefault((path, recursive), None)
        else:
            self.store._fire(path, before, recursive=recursive)


class XenstoreTransactions:
    """The transaction part of ``Xenstore`` (mixed into it); the state it uses is the
    store's."""

    quota: Quota
    _gen: int
    _nodes: dict[str, Node]
    _owned: Counter[int]
    _transactions: dict[int, Transaction]
    _next_tx: int

    def _next_gen(self) -> int:
        self._gen += 1
        return self._gen

    def _space(self, conn: Connection, tx_id: int) -> Space:
        """Where request ``tx_id`` of ``conn`` works: 0 is the live tree, else that
        connection's transaction."""
        if tx_id == 0:
            return Space(self, None)
        tx = self._transactions.get(tx_id)
        if tx is None or tx.conn is not conn:
            raise XenstoreError("ENOENT", f"no transaction {tx_id}")
        return Space(self, tx)

    def _transaction_start(self, conn: Connection) -> int:
        mine = sum(1 for tx in self._transactions.values() if tx.conn is conn)
        if not conn.privileged and mine >= self.quota.transactions_per_connection:
            raise XenstoreError("ENOSPC", f"domain {conn.domid} has too many transactions")
        while self._next_tx in self._transactions:
            self._next_tx = self._next_tx % 0xFFFFFFFF + 1
        tx_id = self._next_tx
        self._next_tx = self._next_tx % 0xFFFFFFFF + 1  # ids are u32 and never 0
        self._transactions[tx_id] = Transaction(tx_id, conn, dict(self._nodes))
        return tx_id

    def _transaction_end(self, conn: Connection, tx_id: int, commit: bool) -> None:
        tx = self._space(conn, tx_id).tx
        if tx is None:
            raise XenstoreError("ENOENT", "TRANSACTION_END needs a transaction id")
        del self._transactions[tx_id]  # "After this request the tx_id is no longer valid"
        if not commit:
            return
        for path, gen in tx.seen.items():
            live = self._nodes.get(path)
            if (live.gen if live is not None else None) != gen:
                raise XenstoreError("EAGAIN", f"{path} changed during the transaction")
        if not conn.privileged:
            for domid, delta in tx.owned.items():
                if delta > 0 and self._owned[domid] + delta > self.quota.nodes_per_domain:
                    raise XenstoreError("ENOSPC", f"domain {domid} would own too many nodes")
        before = dict(self._nodes)
        live_space = Space(self, None)
        for path in sorted(tx.written):
            if path in self._nodes:
                live_space.delete(path)
            if path in tx.nodes:
                live_space.put(path, tx.nodes[path])
        for path, recursive in tx.events:
            self._fire(path, before, recursive=recursive)
