"""The virtual network (paper §3.3.5): VIFs, the firewall-router between them, host bridges.

Domain 0 runs one :class:`Network` per host.  It owns

* the VIFs (``netback.Vif``: one guest interface each, two rings and a transfer table),
* the virtual firewall-router (``vfr.VFR``: one ordered rule list for every packet),
* the host bridges (``bridge.HostBridge``: UDP sockets on 127.0.0.1 per VIF),
* a small pool of domain 0's own pages that packets are received into before a page flip.

A packet's path.  A guest queues a transmit request and, if the back end asked for it
(``req_event``), notifies its VIF's port.  Domain 0's handler runs :meth:`Network.transmit`,
the paper's packet scheduler: **round-robin** over the VIFs, one packet from each VIF that
has one per turn, until every transmit ring is empty — so a VIF that queues 200 packets
cannot make one that queues 2 wait for all of them.  Each packet's headers go through the
VFR; a packet it delivers to a VIF is received there by flipping a page (``Vif.deliver``),
one it delivers to a bridge leaves through the sender's host socket.  Datagrams from host
programs come in at every service round (a poller) and take the same VFR path.  Domain 0
takes no virtual time (``domain0.py``): what the network costs shows in the guests, in the
system calls, hypercalls and copies their drivers make.

Page flips change frames' owners, so after a round that flipped, translated code is dropped
once (``xen.transfer.flush_after_transfers``) before any guest runs again.

:func:`attach_vif` is the toolstack's entry (``xl network-attach``, a config's ``vif =``
line); ``Network.vfr.command`` is ``vfr list|add|del``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from xenlab.abi import ring as abi
from xenlab.dom0.bridge import BRIDGE_IP, DEFAULT_GUEST_PORT, HostBridge
from xenlab.dom0.domain0 import ControlDomain
from xenlab.dom0.netback import PagePool, TxPacket, Vif
from xenlab.dom0.packet import ip_str, ip_to_int, mac_str, mac_to_int, parse, with_mac_dst
from xenlab.dom0.vfr import VFR
from xenlab.dom0.xenstore import Xenstore
from xenlab.xen.domain import Domain
from xenlab.xen.transfer import flush_after_transfers

if TYPE_CHECKING:
    from xenlab.toolstack.host import Host

XEN_OUI = (0x00, 0x16, 0x3E)  # Xen's MAC prefix
POOL_PAGES = 8  # domain 0's receive pages (one is in use at a time: each flip gives one back)


class VifSpec(Protocol):
    """What a config's ``vif =`` entry gives (``xlcfg.Vif``)."""

    mac: str
    ip: str | None
    bridge: str


def default_mac(domain_name: str, index: int) -> str:
    """The MAC ``xlcfg.default_mac`` gives the domain's ``index``-th VIF: Xen's prefix and
    three bytes of a hash of the name, so every run is the same."""
    digest = hashlib.sha256(f"{domain_name}/vif{index}".encode()).digest()
    return ":".join(f"{o:02x}" for o in (*XEN_OUI, digest[0] & 0x7F, digest[1], digest[2]))


class Network:
    """Domain 0's virtual network: VIFs, the VFR, bridges, and the packet scheduler."""

    def __init__(self, dom0: ControlDomain, store: Xenstore, *, pool_pages: int = POOL_PAGES):
        self.dom0 = dom0
        self.xen = dom0.xen
        self.store = store
        self.vfr = VFR(log=self.xen.log.append)
        self.vifs: dict[str, Vif] = {}
        self.bridges: dict[str, HostBridge] = {}
        self.pool = PagePool(dom0.domain, pool_pages)
        self.undeliverable = 0  # delivered by a rule to an interface that does not exist
        self._turn = 0  # where the next round-robin turn starts
        self._running = False  # transmit() is not re-entered (a kick from inside it)
        self._again = False
        self._flipped = False
        dom0.add_poller(self.poll)
        self.xen.on_destroy.append(self._domain_destroyed)

    # ------------------------------------------------------------------ configuration
    def attach(
        self,
        domain: Domain,
        mac: str | None = None,
        ip: str | None = None,
        bridge: str = "xenbr0",
        *,
        guest_port: int = DEFAULT_GUEST_PORT,
    ) -> Vif:
        """Give ``domain`` a new VIF on ``bridge``: both xenstore directories, the VFR's
        default rules (anti-spoofing, demultiplexing), a host socket on the bridge.
        ValueError for a malformed or already used MAC or IP."""
        mine = [v.devid for v in self.vifs.values() if v.domid == domain.domid]
        devid = max(mine, default=-1) + 1
        mac_i = mac_to_int(mac if mac else default_mac(domain.name, devid))
        ip_i = ip_to_int(ip) if ip else self._default_ip(domain.domid, devid)
        the_bridge = self.bridge(bridge)
        for other in self.vifs.values():
            if other.mac == mac_i:
                raise ValueError(f"MAC {mac_str(mac_i)} is already {other.name}'s")
            if other.ip == ip_i:
                raise ValueError(f"IP {ip_str(ip_i)} is already {other.name}'s")
        if any(b.ip == ip_i for b in self.bridges.values()):
            raise ValueError(f"IP {ip_str(ip_i)} is a bridge's")
        vif = Vif(
            self.dom0,
            self.store,
            domain,
            devid=devid,
            mac=mac_i,
            ip=ip_i,
            bridge=bridge,
            kick=self.kick,
            on_gone=self._gone,
        )
        self.vifs[vif.name] = vif
        self.vfr.install_vif(vif.name, mac_i, ip_i)
        vif.host_port = the_bridge.add_vif(vif.name, mac_i, ip_i, guest_port)
        return vif

    def _default_ip(self, domid: int, devid: int) -> int:
        """10.0.<devid>.<domid> (or the next free address of 10.0.0.0/16)."""
        taken = {v.ip for v in self.vifs.values()} | {b.ip for b in self.bridges.values()}
        first = ip_to_int(f"10.0.{devid & 0xFF}.{domid}") if 0 < domid < 254 else None
        if first is not None and first not in taken:
            return first
        for host in range(ip_to_int("10.0.1.1"), ip_to_int("10.0.255.254")):
            if host & 0xFF not in (0, 255) and host not in taken:
                return host
        raise ValueError("10.0.0.0/16 is full")

    def bridge(self, name: str) -> HostBridge:
        """The bridge ``name``, made on first use with a delivery rule for its address."""
        if name not in self.bridges:
            ip = BRIDGE_IP if not self.bridges else f"10.{len(self.bridges)}.0.254"
            self.bridges[name] = HostBridge(name, ip)
            self.vfr.install_route(name, self.bridges[name].ip)
        return self.bridges[name]

    def detach(self, vif: Vif) -> None:
        vif.remove("detached by the toolstack")

    def _gone(self, vif: Vif) -> None:
        self.vifs.pop(vif.name, None)
        self.vfr.remove_interface(vif.name)
        bridge = self.bridges.get(vif.bridge)
        if bridge is not None:
            bridge.remove_vif(vif.name)

    def _domain_destroyed(self, domain: Domain) -> None:
        for vif in [v for v in self.vifs.values() if v.domid == domain.domid]:
            vif.remove("the domain was destroyed")

    def close(self) -> None:
        """Close every host socket (the bridges)."""
        for bridge in self.bridges.values():
            bridge.close()

    # ------------------------------------------------------------------ packets
    def kick(self, vif: Vif) -> None:
        """A VIF's front end notified (or just connected): run the scheduler."""
        self.transmit()

    def transmit(self) -> bool:
        """The packet scheduler: round-robin over the VIFs, one packet from each per turn,
        until no transmit ring holds a request; then ask each front end to notify on its
        next one (``req_event``).  True if any packet moved."""
        if self._running:
            self._again = True
            return False
        self._running = True
        moved_any = False
        try:
            while True:
                vifs = [v for v in self.vifs.values() if v.connected]
                moved = False
                for k in range(len(vifs)):
                    packet = vifs[(self._turn + k) % len(vifs)].next_tx()
                    if packet is not None:
                        self._forward(packet)
                        moved = True
                self._turn += 1
                if moved:
                    moved_any = True
                    continue
                waiting = [v.more_tx() for v in vifs]  # every ring re-armed, then looked at
                if not any(waiting) and not self._again:
                    break
                self._again = False
        finally:
            self._running = False
        self._finish_round()
        return moved_any

    def _forward(self, packet: TxPacket) -> None:
        vif = packet.vif
        verdict = self.vfr.classify(parse(packet.headers, packet.size), vif.name)
        if verdict.dropped:
            vif.stats.tx_dropped += 1
            vif.respond_tx(packet.id, abi.NETIF_RSP_DROPPED)
            return
        data = vif.read_tx(packet)
        if data is None:
            vif.stats.tx_errors += 1
            vif.respond_tx(packet.id, abi.NETIF_RSP_ERROR)
            return
        vif.stats.tx_packets += 1
        vif.stats.tx_bytes += packet.size
        self._deliver(verdict.target, data, vif.name)  # type: ignore[arg-type]
        vif.respond_tx(packet.id, abi.NETIF_RSP_OKAY)

    def _deliver(self, target: str, frame: bytes, ingress: str) -> None:
        to_vif = self.vifs.get(target)
        if to_vif is not None:
            if to_vif.deliver(with_mac_dst(frame, to_vif.mac), self.pool):
                self._flipped = True
        elif target in self.bridges and ingress in self.vifs:
            self.bridges[target].send(frame, ingress)
        else:
            self.undeliverable += 1  # no such interface, or bridge to bridge

    def poll(self) -> bool:
        """Every service round: datagrams from host programs, through the VFR."""
        did = False
        for bridge in list(self.bridges.values()):
            for _, frame in bridge.receive():
                did = True
                verdict = self.vfr.classify(parse(frame), bridge.name)
                if not verdict.dropped:
                    self._deliver(verdict.target, frame, bridge.name)  # type: ignore[arg-type]
        self._finish_round()
        return did

    def _finish_round(self) -> None:
        if self._flipped:
            self._flipped = False
            flush_after_transfers(self.xen.machine)

    # ------------------------------------------------------------------ views
    def vfr_command(self, args: Sequence[str]) -> list[str]:
        """``vfr list`` / ``vfr add ...`` / ``vfr del N`` (VfrError for a bad one)."""
        return self.vfr.command(args)

    def summary(self) -> list[str]:
        """One line per VIF: addresses, state and counters."""
        lines = []
        for vif in self.vifs.values():
            s = vif.stats
            state = "connected" if vif.connected else f"down ({vif.error or 'waiting'})"
            lines.append(
                f"{vif.name}: {mac_str(vif.mac)} {ip_str(vif.ip)} {state}; "
                f"tx {s.tx_packets} ({s.tx_dropped} dropped, {s.tx_errors} errors), "
                f"rx {s.rx_packets} ({s.rx_flips} flips, {s.rx_dropped} dropped, "
                f"{s.rx_errors} errors); {s.kicks} kicks in, {s.notifications} out"
            )
        return lines


def network_of(host: Host) -> Network:
    """The host's network (``Host.network``: one per host, made on first use)."""
    return host.network


def attach_vif(
    host: Host,
    domain: Domain | int | str,
    mac: str | VifSpec | None = None,
    ip: str | None = None,
    bridge: str = "xenbr0",
) -> Vif:
    """Give a domain a VIF (``xl network-attach``).  ``mac`` may be a config's VIF
    (``xlcfg.Vif``), whose mac, ip and bridge are then used."""
    if mac is not None and not isinstance(mac, str):
        mac, ip, bridge = mac.mac, mac.ip, mac.bridge
    if not isinstance(domain, Domain):
        domain = host.domain(domain)
    return network_of(host).attach(domain, mac, ip, bridge)
