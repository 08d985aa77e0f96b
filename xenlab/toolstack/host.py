"""A Xen host: the hypervisor with domain 0 and its daemons (paper §2.3).

``Host`` is the control API the xl commands, the machine daemon and the I/O labs share:
create a domain from a kernel (or an xl config), introduce it to xenstore with the standard
keys, connect its console and store rings to domain 0, and pause, unpause, destroy and list
domains.  Guests on a host get domain ids from 1; domain 0 is the control domain
(``xenlab.dom0``).  ``control.boot`` stays the bare path: one guest on a Xen with no
domain 0, talking through console_io.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xenlab.dom0.console import ConsoleBackend
from xenlab.dom0.domain0 import ControlDomain
from xenlab.dom0.xenstored import Xenstored
from xenlab.toolstack.builder import build_domain
from xenlab.toolstack.control import BootError, resolve_image
from xenlab.toolstack.elfimage import ImageError, load_kernel_image
from xenlab.xen.domain import Domain, DomainState
from xenlab.xen.hypervisor import RunResult, Xen
from xenlab.xen.schedule import Scheduler


@dataclass(frozen=True)
class DomainRow:
    """One line of ``xl list``."""

    domid: int
    name: str
    memory_mib: int
    state: str  # xl's flags: r running/runnable, b blocked, p paused, s shutdown, c crashed
    time_s: float  # virtual CPU time


class Host:
    """The hypervisor, domain 0 (xenstored, xenconsoled) and the domains it created."""

    def __init__(self, machine_mib: int = 256, *, scheduler: Scheduler | None = None) -> None:
        self.xen = Xen(machine_mib, scheduler=scheduler)
        self.dom0 = ControlDomain(self.xen)
        self.xenstored = Xenstored(self.dom0)
        self.store = self.xenstored.store
        self.consoles: dict[int, ConsoleBackend] = {}
        self.xen.on_destroy.append(self._release)

    # ------------------------------------------------------------------ life cycle
    def create(
        self,
        kernel: str | Path,
        *,
        name: str,
        memory_mib: int = 16,
        max_memory_mib: int | None = None,
        cmdline: str = "",
    ) -> Domain:
        """Build a domain (a built-in guest's name or an ELF path) and connect it."""
        if any(d.name == name for d in self.xen.domains.values()):
            raise BootError(f"a domain named '{name}' already exists")
        try:
            image = load_kernel_image(resolve_image(kernel))
        except ImageError as exc:
            raise BootError(str(exc)) from exc
        try:
            domain = build_domain(
                self.xen,
                image,
                name=name,
                memory_mib=memory_mib,
                max_memory_mib=max_memory_mib,
                cmdline=cmdline,
                xenstore=True,
            )
        except (ValueError, MemoryError) as exc:
            raise BootError(str(exc)) from exc
        self._connect(domain)
        return domain

    def _connect(self, domain: Domain) -> None:
        """What xl does after building: xenstore keys, then the back ends (xenstored
        binds the store port, xenconsoled the console port)."""
        domid = domain.domid
        self.store.introduce_domain(
            domid, domain.name, store_mfn=domain.store_mfn, store_evtchn=domain.store_port
        )
        home = self.store.get_domain_path(domid)
        self.store.write(f"{home}/memory/target", str(domain.tot_pages * 4))
        self.store.write(f"{home}/console/ring-ref", str(domain.console_mfn))
        self.store.write(f"{home}/console/port", str(domain.console_port))
        self.store.write(f"{home}/console/type", "xenconsoled")
        self.xenstored.connect(domain)
        self.consoles[domid] = ConsoleBackend(self.dom0, domain)

    def domain(self, which: int | str) -> Domain:
        """A guest by id or name (``xl`` accepts both)."""
        for domain in self.xen.domains.values():
            if domain.domid == which or domain.name == which or str(domain.domid) == which:
                if domain.domid == self.dom0.domid:
                    raise BootError("domain 0 cannot be the target of this command")
                return domain
        raise BootError(f"no domain '{which}'")

    def destroy(self, which: int | str) -> None:
        self.xen.destroy_domain(self.domain(which))

    def _release(self, domain: Domain) -> None:
        """After Xen destroyed a domain (``xl destroy``, or a privileged guest's domctl):
        disconnect its back ends and take it out of the store (@releaseDomain)."""
        domid = domain.domid
        console = self.consoles.pop(domid, None)
        if console is not None:
            self.dom0.unbind(console.port)
        self.xenstored.disconnect(domid)
        if self.store.is_introduced(domid):
            self.store.release_domain(domid)

    def pause(self, which: int | str) -> None:
        self.xen.pause_domain(self.domain(which))

    def unpause(self, which: int | str) -> None:
        self.xen.unpause_domain(self.domain(which))

    def run(self, **limits: float | int | None) -> RunResult:
        return self.xen.run(**limits)

    # ------------------------------------------------------------------ views
    def list(self) -> list[DomainRow]:
        rows = []
        for domain in self.xen.domains.values():
            if domain.domid == self.dom0.domid:
                state = "r"
            elif domain.pause_count:
                state = "p"
            else:
                state = {
                    DomainState.RUNNABLE: "r",
                    DomainState.BLOCKED: "b",
                    DomainState.PAUSED: "p",
                    DomainState.SHUTDOWN: "s",
                    DomainState.CRASHED: "c",
                }[domain.state]
            rows.append(
                DomainRow(
                    domain.domid,
                    domain.name,
                    domain.tot_pages * 4 >> 10,
                    state,
                    self.xen.virtual_time_ns(domain) / 1e9,
                )
            )
        return rows

    def console(self, which: int | str) -> str:
        return self.domain(which).console

    def send_input(self, which: int | str, text: str) -> int:
        domain = self.domain(which)
        console = self.consoles.get(domain.domid)
        if console is None:
            raise BootError(f"domain {domain.domid} has no console ring")
        return console.send_input(text)
