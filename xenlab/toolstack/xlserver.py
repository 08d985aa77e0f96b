"""The xl side of the machine: what each request does to the ``Host``, and what xl does
for a domain after creating it.

Real xl keeps a process per domain after ``xl create`` to watch it: when the domain shuts
down or crashes, that process applies the configuration's ``on_poweroff`` / ``on_reboot``
/ ``on_crash`` action (destroy, restart or preserve).  Here :class:`Toolstack` does it for
every domain of the machine, told by domain 0 (VIRQ_DOM_EXC, ``ControlDomain
.exception_listeners``).  It also keeps a :class:`ConsoleLog` per domain, as xenconsoled
can log to files, so ``xl console`` can follow a console by offset and still read it after
the domain is gone.

Each ``cmd_*`` method takes a :class:`wire.Request` and returns the reply's fields; the
machine's loop (``machine.py``) turns exceptions into error replies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenlab.toolstack.control import BootError
from xenlab.toolstack.wire import Request, WireError, console_text
from xenlab.toolstack.xlcfg import Disk, DomainConfig, Vif, default_mac, parse_config

if TYPE_CHECKING:
    from xenlab.toolstack.host import Host
    from xenlab.xen.domain import Domain

CONSOLE_KEEP_BYTES = 1 << 20  # per domain, like Xen's console buffer
CONSOLE_REPLY_BYTES = 256 << 10  # the most one console reply carries
DEPARTED_KEEP = 32  # console logs of domains that are gone, kept for `xl console`
MAX_RESTARTS = 20  # on_reboot = "restart" of one name, before the machine gives up


class ConsoleLog:
    """What a domain wrote to its console, with byte offsets that survive trimming, so a
    follower can ask "what came after offset N?" (xenconsoled keeps such logs too)."""

    def __init__(self, domain: Domain) -> None:
        self.domid = domain.domid
        self.name = domain.name
        self.data = bytearray()
        self.dropped = 0  # bytes trimmed from the front
        self.ended: str | None = None  # why the domain is gone, once it is
        domain.console_listeners.append(self.write)

    def write(self, data: bytes) -> None:
        self.data += data
        if len(self.data) > CONSOLE_KEEP_BYTES:
            excess = len(self.data) - CONSOLE_KEEP_BYTES
            del self.data[:excess]
            self.dropped += excess

    @property
    def end(self) -> int:
        return self.dropped + len(self.data)

    def read(self, offset: int) -> tuple[bytes, int]:
        """The bytes from ``offset`` (or from the oldest kept) on, and where they end."""
        start = max(offset, self.dropped) - self.dropped
        chunk = bytes(self.data[start : start + CONSOLE_REPLY_BYTES])
        return chunk, self.dropped + start + len(chunk)


class Toolstack:
    """xl's operations over one ``Host``, by wire name (:attr:`commands`)."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.configs: dict[int, DomainConfig] = {}
        self.consoles: dict[int, ConsoleLog] = {}
        self.restarts: dict[str, int] = {}
        self._exceptions: list[int] = []  # domids that shut down or crashed, in order
        host.dom0.exception_listeners.append(lambda domain: self._exceptions.append(domain.domid))
        host.xen.on_destroy.append(self._on_destroy)
        self.commands: dict[str, Callable[[Request], dict[str, Any]]] = {
            "create": self.cmd_create,
            "list": self.cmd_list,
            "console": self.cmd_console,
            "send-input": self.cmd_send_input,
            "destroy": self.cmd_destroy,
            "pause": self.cmd_pause,
            "unpause": self.cmd_unpause,
            "mem-set": self.cmd_mem_set,
            "sched-bvt": self.cmd_sched_bvt,
            "sched-credit": self.cmd_sched_credit,
            "dmesg": self.cmd_dmesg,
            "block-attach": self.cmd_block_attach,
            "network-attach": self.cmd_network_attach,
            "vfr": self.cmd_vfr,
        }

    # ------------------------------------------------------------------ xl's after-care
    def after_run(self) -> bool:
        """xl's on_poweroff / on_reboot / on_crash, for each domain that stopped; True if
        it restarted one (there is something to run again)."""
        restarted = False
        while self._exceptions:
            domid = self._exceptions.pop(0)
            domain = self.host.xen.domains.get(domid)
            if domain is None or domain.alive:
                continue
            cfg = self.configs.get(domid)
            reason = domain.shutdown_reason or "crash"
            # Simplified: suspend and watchdog shutdowns are treated as crashes.
            key = {"poweroff": "on_poweroff", "reboot": "on_reboot"}.get(reason, "on_crash")
            action = getattr(cfg, key) if cfg is not None else "preserve"
            self.host.xen.log.append(f"(xl) domain {domid} ({domain.name}): {key} = {action}")
            if action == "preserve":
                continue
            self.host.destroy(domid)
            if action == "restart" and cfg is not None:
                restarted = self._restart(cfg, domid) or restarted
        return restarted

    def _restart(self, cfg: DomainConfig, old_domid: int) -> bool:
        count = self.restarts[cfg.name] = self.restarts.get(cfg.name, 0) + 1
        if count > MAX_RESTARTS:
            self.host.xen.log.append(
                f"(xl) {cfg.name} restarted {MAX_RESTARTS} times; not restarting it again"
            )
            return False
        try:
            domain = self._create(cfg)
        except Exception as exc:
            self.host.xen.log.append(f"(xl) could not restart {cfg.name}: {exc}")
            return False
        if (old := self.consoles.get(old_domid)) is not None:
            old.ended = f"rebooted; it is now domain {domain.domid}"
        return True

    def _create(self, cfg: DomainConfig) -> Domain:
        domain = self.host.create_from_config(cfg)
        self.configs[domain.domid] = cfg
        self.consoles[domain.domid] = ConsoleLog(domain)
        return domain

    def _on_destroy(self, domain: Domain) -> None:
        self.configs.pop(domain.domid, None)
        console = self.consoles.get(domain.domid)
        if console is not None:
            console.ended = _how_it_ended(domain) or "destroyed"
        departed = [domid for domid, c in self.consoles.items() if c.ended is not None]
        for domid in departed[:-DEPARTED_KEEP]:
            del self.consoles[domid]

    # ------------------------------------------------------------------ commands
    def cmd_create(self, request: Request) -> dict[str, Any]:
        """``xl create``: the client sends the file's text (it checked it and resolved
        the kernel to an absolute ELF path); the daemon parses the same text again."""
        kernel = Path(request.text("kernel"))
        base_dir = Path(request.text("base_dir"))
        if not kernel.is_absolute() or not base_dir.is_absolute():
            raise WireError("create: kernel and base_dir must be absolute paths")
        cfg = parse_config(request.text("config"), source=request.text("source"), base_dir=base_dir)
        cfg = replace(cfg, kernel=str(kernel), kernel_is_path=True)
        paused = request.message.get("paused", False) is True
        domain = self._create(cfg)
        self.restarts.pop(cfg.name, None)  # a new life: on_reboot may restart it again
        if paused:
            self.host.pause(domain.domid)
        return {
            "domid": domain.domid,
            "name": domain.name,
            "warnings": [*cfg.warnings, *_sched_warnings(cfg, self.host.xen.scheduler.name)],
        }

    def cmd_list(self, request: Request) -> dict[str, Any]:
        return {"domains": self.rows()}

    def rows(self) -> list[dict[str, Any]]:
        """``xl list``'s rows (one vCPU each: xenlab emulates one CPU)."""
        xen = self.host.xen
        return [
            {
                "domid": row.domid,
                "name": row.name,
                "memory_mib": row.memory_mib,
                "vcpus": 1 if xen.domains[row.domid].vcpu is not None else 0,
                "state": row.state,
                "time_s": row.time_s,
            }
            for row in self.host.list()
        ]

    def cmd_console(self, request: Request) -> dict[str, Any]:
        console = self._console_log(request.domain())
        offset = request.integer("offset", 0)
        if offset < 0:
            raise WireError("console: offset must not be negative")
        data, new_offset = console.read(offset)
        ended = console.ended
        if ended is None:  # still here, but perhaps shut down and preserved: no more output
            ended = _how_it_ended(self.host.xen.domains[console.domid])
        return {
            "domid": console.domid,
            "name": console.name,
            "data": console_text(data),
            "offset": new_offset,
            "skipped": max(0, console.dropped - offset),
            "more": new_offset < console.end,
            "ended": ended,
        }

    def _console_log(self, which: int | str) -> ConsoleLog:
        """A live domain's console log, else the newest gone one of that id or name."""
        try:
            domid = self.host.domain(which).domid
        except BootError:
            for console in reversed(self.consoles.values()):
                if console.ended is not None and which in (
                    console.domid,
                    console.name,
                    str(console.domid),
                ):
                    return console
            raise
        if domid not in self.consoles:
            raise BootError(f"domain {domid} has no console log")
        return self.consoles[domid]

    def cmd_send_input(self, request: Request) -> dict[str, Any]:
        text = request.text("text")
        sent = self.host.send_input(request.domain(), text)
        return {"sent": sent, "of": len(text.encode())}

    def cmd_destroy(self, request: Request) -> dict[str, Any]:
        self.host.destroy(request.domain())
        return {}

    def cmd_pause(self, request: Request) -> dict[str, Any]:
        self.host.pause(request.domain())
        return {}

    def cmd_unpause(self, request: Request) -> dict[str, Any]:
        self.host.unpause(request.domain())
        return {}

    def cmd_mem_set(self, request: Request) -> dict[str, Any]:
        target_kib = self.host.mem_set(request.domain(), request.integer("mib"))
        return {"target_kib": target_kib}

    def cmd_sched_bvt(self, request: Request) -> dict[str, Any]:
        params = {
            name: request.integer(name, None) for name in ("mcu_advance", "warp", "warpl", "warpu")
        }
        given = {name: value for name, value in params.items() if value is not None}
        return {"params": self.host.sched_params(request.domain(), "bvt", **given)}

    def cmd_sched_credit(self, request: Request) -> dict[str, Any]:
        weight = request.integer("weight", None)
        given = {} if weight is None else {"weight": weight}
        return {"params": self.host.sched_params(request.domain(), "credit", **given)}

    def cmd_dmesg(self, request: Request) -> dict[str, Any]:
        lines = list(self.host.xen.log)
        if request.message.get("clear") is True:
            self.host.xen.log.clear()
        return {"lines": lines}

    def cmd_block_attach(self, request: Request) -> dict[str, Any]:
        spec = Request({"cmd": "block-attach", **request.mapping("disk")})
        target = Path(spec.text("target"))
        if not target.is_absolute():
            raise WireError("block-attach: the disk's target must be an absolute path")
        disk = Disk(
            target=target,
            vdev=spec.text("vdev"),
            readonly=spec.message.get("readonly") is True,
            offset=spec.integer("offset", 0),
            size=spec.integer("size", None),
        )
        return {"result": _plain(self.host.attach_disk(request.domain(), disk))}

    def cmd_network_attach(self, request: Request) -> dict[str, Any]:
        domain = self.host.domain(request.domain())
        spec = Request({"cmd": "network-attach", **request.mapping("vif")})
        mac = spec.text("mac", None)
        if mac is None:  # the next index after the vifs the domain has, as in its config
            home = self.host.store.get_domain_path(domain.domid)
            vifs = self.host.store.exists(f"{home}/device/vif")
            index = len(self.host.store.directory(f"{home}/device/vif")) if vifs else 0
            mac = default_mac(domain.name, index)
        vif = Vif(mac=mac, ip=spec.text("ip", None), bridge=spec.text("bridge", "xenbr0"))
        return {"result": _plain(self.host.attach_vif(domain.domid, vif))}

    def cmd_vfr(self, request: Request) -> dict[str, Any]:
        return {"result": _plain(self.host.vfr(request.strings("args")))}


def _how_it_ended(domain: Domain) -> str | None:
    """Why a domain will write no more (None while it is alive)."""
    if domain.alive:
        return None
    if domain.crash is not None:
        return f"crashed: {domain.crash.reason}"
    if domain.shutdown_reason:
        return f"shut down ({domain.shutdown_reason})"
    return None


def _plain(value: Any) -> Any:
    """A back end's answer as JSON data (strings for what JSON cannot carry)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def _sched_warnings(cfg: DomainConfig, scheduler: str) -> list[str]:
    """Settings for a scheduler the machine does not run (xl ignores them silently)."""
    warnings = []
    if cfg.sched.bvt_params() and scheduler != "bvt":
        names = ", ".join(cfg.sched.bvt_params())
        warnings.append(f"{cfg.source}: {names}: ignored: the machine's scheduler is {scheduler}")
    if cfg.sched.cpu_weight is not None and scheduler != "credit":
        warnings.append(
            f"{cfg.source}: cpu_weight: ignored: the machine's scheduler is {scheduler}"
        )
    return warnings
