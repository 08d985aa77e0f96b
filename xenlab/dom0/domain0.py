"""The control domain: domain 0 as a Python kernel with event channels.

Domain 0 is created first, so it gets id 0; it is privileged and never scheduled (its
work runs between other domains' slices, from :meth:`Xen.run`'s ``services``: simplified,
it takes no virtual time).  Each driver binds a port to a guest's port and gives a handler;
when the guest notifies (EVTCHNOP_send), Xen calls :meth:`ControlDomain._on_event` instead
of raising an upcall, and the handler runs at the next service round — in the order the
events came, so every run is the same.
"""

from __future__ import annotations

from collections.abc import Callable

from xenlab.abi.hypercalls import VIRQ_DOM_EXC
from xenlab.xen.domain import Domain
from xenlab.xen.events import Channel, PortState, bind_interdomain, notify_remote
from xenlab.xen.hypervisor import Xen

DOM0_NAME = "Domain-0"


class ControlDomain:
    """Domain 0 on ``xen``: event dispatch for its drivers."""

    def __init__(self, xen: Xen) -> None:
        if xen.domains:
            raise ValueError("domain 0 must be the machine's first domain")
        self.xen = xen
        self.domain: Domain = xen.create_domain(DOM0_NAME, max_pages=0, privileged=True)
        self.domain.on_event = self._on_event
        self._handlers: dict[int, Callable[[], None]] = {}
        self._pending: dict[int, None] = {}  # ports raised, in arrival order
        self._idle_hooks: list[Callable[[], bool]] = []
        # Told when a domain shuts down or crashes (VIRQ_DOM_EXC): the toolstack's cue.
        self.exception_listeners: list[Callable[[Domain], None]] = []
        self._seen_dead: set[int] = set()
        self.bind_virq(VIRQ_DOM_EXC, self._on_domain_exception)
        xen.services.append(self.service)

    @property
    def domid(self) -> int:
        return self.domain.domid

    def bind(self, domid: int, remote_port: int, handler: Callable[[], None]) -> int:
        """Bind a port to ``remote_port`` of ``domid`` (offered to domain 0 by the builder
        or by the guest's alloc_unbound); ``handler()`` runs when the guest notifies."""
        port = bind_interdomain(self.domain, domid, remote_port)
        if port < 0:
            raise ValueError(f"cannot bind to port {remote_port} of domain {domid}: {port}")
        self._handlers[port] = handler
        self._pending[port] = None  # look once: the guest may have written before we bound
        return port

    def bind_virq(self, virq: int, handler: Callable[[], None]) -> int:
        """EVTCHNOP_bind_virq for domain 0: ``handler()`` runs when Xen raises ``virq``."""
        port = self.domain.events.allocate(Channel(PortState.VIRQ, virq=virq))
        self.domain.events.virq_port[virq] = port
        self._handlers[port] = handler
        return port

    def _on_domain_exception(self) -> None:
        for domain in list(self.xen.domains.values()):
            if not domain.alive and domain.domid not in self._seen_dead:
                self._seen_dead.add(domain.domid)
                for listener in self.exception_listeners:
                    listener(domain)

    def unbind(self, port: int) -> None:
        self._handlers.pop(port, None)
        self._pending.pop(port, None)
        self.domain.events.ports[port] = None

    def notify(self, port: int) -> None:
        """EVTCHNOP_send from domain 0: raise the guest's end of ``port``."""
        notify_remote(self.domain, port)

    def add_poller(self, poll: Callable[[], bool]) -> None:
        """Work to do at every service round (e.g. a host socket); True if it did some."""
        self._idle_hooks.append(poll)

    def _on_event(self, port: int) -> None:
        self._pending[port] = None

    def service(self) -> bool:
        """Run the handlers of every raised port (and the pollers); True if any ran."""
        did = False
        for poll in self._idle_hooks:
            did = poll() or did
        while self._pending:
            port = next(iter(self._pending))
            del self._pending[port]
            handler = self._handlers.get(port)
            if handler is not None:
                handler()
                did = True
        return did
