"""xenconsoled: every guest's console ring, drained into its console buffer.

The guest writes bytes into ``xencons_interface.out``, advances ``out_prod`` and notifies
its console port (``io/console.h``); domain 0 copies them out, advances ``out_cons`` and
notifies back so a guest waiting for room goes on.  Keyboard input goes the other way,
through ``in``.  A guest that corrupts its ring indices loses its console (the reason is
logged), never the hypervisor.
"""

from __future__ import annotations

from xenlab.dom0.domain0 import ControlDomain
from xenlab.xen.domain import Domain
from xenlab.xen.ring import ByteRing, RingError


class ConsoleBackend:
    """One guest's console, as domain 0 sees it."""

    def __init__(self, dom0: ControlDomain, domain: Domain) -> None:
        self.dom0 = dom0
        self.domain = domain
        memory = domain.machine.memory
        self.out = ByteRing.console_out(memory, domain.console_mfn)
        self.inp = ByteRing.console_in(memory, domain.console_mfn)
        self.error: str | None = None
        self.bytes_out = 0
        self.port = dom0.bind(domain.domid, domain.console_port, self.service)

    def service(self) -> None:
        if self.error is not None:
            return
        try:
            data = self.out.read()
        except RingError as exc:
            self._broken(exc)
            return
        if data:
            self.bytes_out += len(data)
            self.domain.console_write(data)
            self.dom0.notify(self.port)  # room again for a writer that waited

    def send_input(self, text: str | bytes) -> int:
        """Type into the guest's console; returns the bytes that fit in the ring."""
        data = text.encode() if isinstance(text, str) else text
        if self.error is not None:
            return 0
        try:
            n = self.inp.write(data)
        except RingError as exc:
            self._broken(exc)
            return 0
        if n:
            self.dom0.notify(self.port)
        return n

    def _broken(self, exc: RingError) -> None:
        self.error = str(exc)
        self.dom0.xen.log.append(
            f"(dom0) console of domain {self.domain.domid} disconnected: {exc}"
        )
