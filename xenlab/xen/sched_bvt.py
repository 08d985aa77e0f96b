"""Borrowed Virtual Time, the scheduler of the 2003 Xen (paper §3.3.1; Duda & Cheriton,
SOSP 1999; Xen 1.0's sched_bvt.c).

Every domain has an *actual virtual time* (avt) that advances while it runs, faster for
a smaller share: by ``mcu_advance`` per *minimum charging unit* (MCU) of real time used.
The runnable domain with the lowest *effective* virtual time (evt) runs next.  A domain
may *warp*: for a while after it wakes, its evt is its avt minus ``warp``, so an
event-driven domain is dispatched at once — borrowing against its future share — but for
at most ``warpl`` ns, and not again until it has run unwarped for ``warpu`` ns.  A domain
that slept does not bank credit: on waking its avt is raised to at least the system's
(the lowest avt of the runnable domains).  The *context-switch allowance* lets the chosen
domain run that much past the point where another domain's evt would be lower, so the
CPU does not thrash between two equals.

Times are in xenlab's virtual nanoseconds (one guest instruction each).
"""

from __future__ import annotations

from dataclasses import dataclass

from xenlab.xen.domain import Domain, DomainState

MCU = 100_000  # ns: the minimum charging unit (2003: 100 us)
CTX_ALLOW = 5_000_000  # ns: the context-switch allowance (2003: 5 ms)
DEFAULT_MCU_ADVANCE = 10  # 2003's default: the inverse of the weight


@dataclass
class BVTParams:
    """One domain's BVT state (the toolstack sets the first four)."""

    mcu_advance: int = DEFAULT_MCU_ADVANCE
    warp: int = 0  # avt units to borrow when it wakes (0: never warps)
    warpl: int = 0  # ns: the longest it may stay warped (0: no limit)
    warpu: int = 0  # ns: how long it must run unwarped before warping again
    avt: int = 0
    warping: bool = False
    warped_for: int = 0  # ns run while warped, this time
    unwarped_for: int = 0  # ns run since it last stopped warping

    @property
    def evt(self) -> int:
        return self.avt - self.warp if self.warping else self.avt


class BVT:
    """The scheduler: ``pick`` who runs, for how long (``slice``), ``charge`` what ran."""

    name = "bvt"

    def __init__(self, *, mcu: int = MCU, ctx_allow: int = CTX_ALLOW) -> None:
        self.mcu = mcu
        self.ctx_allow = ctx_allow
        self.slice = ctx_allow
        self.params: dict[int, BVTParams] = {}
        self._asleep: set[int] = set()

    def set_params(
        self,
        domain: Domain,
        *,
        mcu_advance: int | None = None,
        warp: int | None = None,
        warpl: int | None = None,
        warpu: int | None = None,
    ) -> BVTParams:
        """The toolstack's knobs (``xl sched-bvt``)."""
        params = self._params(domain)
        if mcu_advance is not None:
            if mcu_advance <= 0:
                raise ValueError("mcu_advance must be positive")
            params.mcu_advance = mcu_advance
        for name, value in (("warp", warp), ("warpl", warpl), ("warpu", warpu)):
            if value is not None:
                if value < 0:
                    raise ValueError(f"{name} must not be negative")
                setattr(params, name, value)
        return params

    def _params(self, domain: Domain) -> BVTParams:
        params = self.params.get(domain.domid)
        if params is None:
            params = self.params[domain.domid] = BVTParams()
            params.avt = self._system_virtual_time()
        return params

    def _system_virtual_time(self, exclude: int | None = None) -> int:
        avts = [
            p.avt
            for domid, p in self.params.items()
            if domid != exclude and domid not in self._asleep
        ]
        return min(avts, default=0)

    def _note_wakeups(self, domains: list[Domain]) -> None:
        for domain in domains:
            params = self._params(domain)
            asleep = domain.state is DomainState.BLOCKED
            if asleep and domain.domid not in self._asleep:
                self._asleep.add(domain.domid)
                params.warping = False  # blocking ends a warp
            elif not asleep and domain.domid in self._asleep:
                self._asleep.discard(domain.domid)
                # No credit for sleeping: catch up with the system's virtual time.
                params.avt = max(params.avt, self._system_virtual_time(exclude=domain.domid))
                if params.warp and params.unwarped_for >= params.warpu:
                    params.warping, params.warped_for = True, 0

    def pick(self, domains: list[Domain]) -> Domain | None:
        self._note_wakeups(domains)
        runnable = [d for d in domains if d.state is DomainState.RUNNABLE and not d.pause_count]
        if not runnable:
            return None
        ranked = sorted(runnable, key=lambda d: (self._params(d).evt, d.domid))
        chosen = ranked[0]
        mine = self._params(chosen)
        if len(ranked) > 1:
            # Run until another domain's evt would be lower, plus the allowance.
            gap = self._params(ranked[1]).evt - mine.evt
            self.slice = gap // mine.mcu_advance * self.mcu + self.ctx_allow
        else:
            self.slice = self.ctx_allow
        if mine.warping and mine.warpl:
            self.slice = max(1, min(self.slice, mine.warpl - mine.warped_for))
        return chosen

    def charge(self, domain: Domain, ran: int) -> None:
        """Advance avt by mcu_advance for every MCU (or part of one) the domain used."""
        params = self._params(domain)
        params.avt += -(-ran // self.mcu) * params.mcu_advance
        if params.warping:
            params.warped_for += ran
            if params.warpl and params.warped_for >= params.warpl:
                params.warping, params.unwarped_for = False, 0
        else:
            params.unwarped_for += ran
