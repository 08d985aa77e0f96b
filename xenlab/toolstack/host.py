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
from typing import TYPE_CHECKING

from xenlab.dom0 import block, netback, network
from xenlab.dom0.console import ConsoleBackend
from xenlab.dom0.domain0 import ControlDomain
from xenlab.dom0.vfr import VfrError
from xenlab.dom0.xenstored import Xenstored
from xenlab.toolstack.control import BootError, build, load_image
from xenlab.xen.domain import Domain, DomainState
from xenlab.xen.hypervisor import RunResult, Xen
from xenlab.xen.sched_bvt import BVT
from xenlab.xen.sched_credit import DEFAULT_WEIGHT as CREDIT_DEFAULT_WEIGHT
from xenlab.xen.sched_credit import Credit
from xenlab.xen.schedule import Scheduler

if TYPE_CHECKING:
    from xenlab.dom0.blkback import BlockDevice
    from xenlab.toolstack.xlcfg import Disk, DomainConfig, Vif


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
        self._block: block.BlockService | None = None
        self._network: network.Network | None = None

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
        domain = build(
            self.xen,
            load_image(kernel),
            name=name,
            memory_mib=memory_mib,
            max_memory_mib=max_memory_mib,
            cmdline=cmdline,
            xenstore=True,
        )
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
        self.store.write(f"{home}/memory/static-max", str(domain.max_pages * 4))  # maxmem
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

    def create_from_config(self, cfg: DomainConfig) -> Domain:
        """``xl create``: the domain a configuration file describes (``xlcfg``), with the
        scheduling settings for this host's scheduler (xl ignores the others) and its
        devices.  ``cfg.kernel`` may be a built-in guest's name or a path."""
        domain = self.create(
            cfg.kernel,
            name=cfg.name,
            memory_mib=cfg.memory_mib,
            max_memory_mib=cfg.maxmem_mib,
            cmdline=cfg.cmdline,
        )
        try:
            scheduler = self.xen.scheduler.name
            if scheduler == "bvt" and cfg.sched.bvt_params():
                self.sched_params(domain.domid, "bvt", **cfg.sched.bvt_params())
            elif scheduler == "credit" and cfg.sched.cpu_weight is not None:
                self.sched_params(domain.domid, "credit", weight=cfg.sched.cpu_weight)
            for disk in cfg.disks:
                self.attach_disk(domain.domid, disk)
            for vif in cfg.vifs:
                self.attach_vif(domain.domid, vif)
        except Exception:
            self.destroy(domain.domid)  # as xl does: no half-made domain stays behind
            raise
        return domain

    def mem_set(self, which: int | str, mib: int) -> int:
        """``xl mem-set``: the domain's balloon target, in MiB; returns it in KiB.

        As libxl does, write ``memory/target`` (KiB) for the guest's balloon driver to
        follow, and make it the hypervisor's limit (``max_pages``, XEN_DOMCTL_max_mem), so
        the domain cannot grow past it.  Simplified: libxl leaves some slack above the
        target, and nothing takes pages away from a guest above its target — it keeps them
        until its balloon driver hands them back (``memory_op``)."""
        domain = self.domain(which)
        home = self.store.get_domain_path(domain.domid)
        static_max_kib = int(self.store.read(f"{home}/memory/static-max"))
        if mib < 1 or mib << 10 > static_max_kib:
            raise BootError(
                f"{mib} MiB: the target must be 1..{static_max_kib >> 10} MiB "
                f"(domain {domain.domid}'s maxmem)"
            )
        self.store.write(f"{home}/memory/target", str(mib << 10))
        domain.max_pages = mib << 8
        return mib << 10

    def sched_params(self, which: int | str, scheduler: str, **params: int) -> dict[str, int]:
        """``xl sched-bvt`` / ``xl sched-credit``: set the parameters given and return
        them all; the host must run that ``scheduler``."""
        domain = self.domain(which)
        sched = self.xen.scheduler
        if sched.name != scheduler:
            raise BootError(f"the scheduler is {sched.name}, not {scheduler}")
        known = {"bvt": ("mcu_advance", "warp", "warpl", "warpu"), "credit": ("weight",)}
        unknown = set(params) - set(known.get(scheduler, ()))
        if unknown:
            raise BootError(f"{scheduler} has no parameter {', '.join(sorted(unknown))}")
        if isinstance(sched, BVT):
            bvt = sched.set_params(domain, **params)
            return {name: getattr(bvt, name) for name in known["bvt"]}
        if isinstance(sched, Credit):
            if "weight" in params:
                sched.set_weight(domain, params["weight"])
            return {"weight": sched.weight.get(domain.domid, CREDIT_DEFAULT_WEIGHT)}
        raise BootError(f"the {scheduler} scheduler has no parameters")

    # ------------------------------------------------------------------ devices
    def attach_disk(self, which: int | str, disk: Disk) -> BlockDevice:
        """``xl block-attach`` / a config's ``disk =``: a VBD for the domain (dom0/block)."""
        return block.attach_disk(self, self.domain(which), disk)

    @property
    def block(self) -> block.BlockService:
        """Domain 0's block service: every VBD's back end, round-robin and the elevator."""
        if self._block is None:
            self._block = block.BlockService(self.dom0, self.store)
        return self._block

    @property
    def network(self) -> network.Network:
        """Domain 0's network: the VIFs, the virtual firewall-router, the host bridges."""
        if self._network is None:
            self._network = network.Network(self.dom0, self.store)
        return self._network

    def attach_vif(self, which: int | str, vif: Vif) -> netback.Vif:
        """``xl network-attach`` / a config's ``vif =``: a VIF for the domain (dom0/network)."""
        return network.attach_vif(self, self.domain(which), vif)

    def vfr(self, args: list[str]) -> list[str]:
        """``xl vfr list|add ...|del N``: the virtual firewall-router's rules."""
        try:
            return self.network.vfr_command(args)
        except VfrError as exc:
            raise BootError(str(exc)) from exc

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
