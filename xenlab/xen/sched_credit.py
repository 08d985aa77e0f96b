"""A credit scheduler, in the style of Xen 3's sched_credit (the successor of BVT).

Each domain has a *weight*.  Every accounting period the CPU time of that period is dealt
out as *credit* to the runnable domains in proportion to their weights; running spends
credit.  Domains that still have credit (*under*) run before those that have spent theirs
(*over*), each group in turn, for a fixed time slice.  Simplified from Xen's: one CPU, no
caps, no boost for waking domains, credit capped at one period so a sleeper cannot hoard.

Times are in xenlab's virtual nanoseconds (one guest instruction each).
"""

from __future__ import annotations

from xenlab.xen.domain import Domain, DomainState

DEFAULT_WEIGHT = 256
PERIOD = 30_000_000  # ns of credit dealt out per accounting period (Xen: 30 ms)
TSLICE = 10_000_000  # ns a domain runs when picked (Xen: 10 ms)


class Credit:
    name = "credit"

    def __init__(self, *, period: int = PERIOD, tslice: int = TSLICE) -> None:
        self.period = period
        self.slice = tslice
        self._tslice = tslice
        self.weight: dict[int, int] = {}
        self.credit: dict[int, int] = {}
        self._until_accounting = 0
        self._last = -1

    def set_weight(self, domain: Domain, weight: int) -> None:
        """The toolstack's knob (``xl sched-credit -w``)."""
        if weight <= 0:
            raise ValueError("weight must be positive")
        self.weight[domain.domid] = weight

    def _account(self, runnable: list[Domain]) -> None:
        """Deal out one period's credit to the runnable domains, by weight."""
        total = sum(self.weight.get(d.domid, DEFAULT_WEIGHT) for d in runnable)
        for d in runnable:
            share = self.period * self.weight.get(d.domid, DEFAULT_WEIGHT) // total
            self.credit[d.domid] = min(self.credit.get(d.domid, 0) + share, self.period)
        self._until_accounting = self.period

    def pick(self, domains: list[Domain]) -> Domain | None:
        runnable = [d for d in domains if d.state is DomainState.RUNNABLE and not d.pause_count]
        if not runnable:
            return None
        under = [d for d in runnable if self.credit.get(d.domid, 0) > 0]
        if self._until_accounting <= 0 or not under:
            # A new period (or everyone spent theirs early, some having slept): deal again.
            self._account(runnable)
            under = [d for d in runnable if self.credit.get(d.domid, 0) > 0]
        group = under or runnable  # "over" domains run only when no one has credit left
        later = [d for d in group if d.domid > self._last]
        chosen = later[0] if later else group[0]
        self._last = chosen.domid
        self.slice = self._tslice
        if under:  # run no longer than its credit lasts, so shares stay exact
            self.slice = max(1, min(self._tslice, self.credit[chosen.domid]))
        return chosen

    def charge(self, domain: Domain, ran: int) -> None:
        self.credit[domain.domid] = self.credit.get(domain.domid, 0) - ran
        self._until_accounting -= ran
