"""The host bridge: UDP between guests and programs on the host (Xen's ``xenbr0``, simplified).

On a Xen host the back end's ``vifN.M`` interfaces join a Linux bridge in domain 0, and from
there the real network.  Here domain 0 is part of a Python process, so the "real network"
is the host's loopback: each VIF on a bridge gets a UDP socket bound to ``127.0.0.1`` (its
``host_port``), polled without blocking at every service round (``ControlDomain.add_poller``).

* A guest's UDP datagram to the bridge's address (``ip``, on the virtual network) and port
  P leaves through its VIF's socket to ``127.0.0.1:P``.  A host program listening there sees
  it come from ``127.0.0.1:host_port``.
* A datagram arriving on that socket from ``127.0.0.1:S`` becomes an Ethernet/IPv4/UDP frame
  from the bridge's address, port S, to the guest's address.  Its destination port is the
  one the guest last sent from to port S (a one-entry-per-peer connection table, so replies
  find the program that asked), else the VIF's ``guest_port`` (7, echo, unless set).  The
  frame then goes through the VFR like any other packet, with the bridge as its ingress.

Simplified: UDP only (a guest's TCP or other IP packets to the bridge are dropped and
counted), no broadcast, no ARP (the bridge answers to its address by a VFR delivery rule),
one socket per VIF rather than a NAT.  Host timing is not deterministic, but on loopback a
datagram sent is at once readable, so a test that sends and then runs the host a bounded
number of slices sees the same thing every run.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from xenlab.dom0.packet import (
    UDP_PAYLOAD_MAX,
    build_udp_frame,
    ip_to_int,
    mac_to_int,
    parse,
    udp_payload,
)

BRIDGE_IP = "10.0.0.254"  # the host's address on the virtual network
BRIDGE_MAC = "fe:ff:ff:ff:ff:fe"
DEFAULT_GUEST_PORT = 7  # where unsolicited datagrams from the host go (echo)
LOOPBACK = "127.0.0.1"
MAX_PER_POLL = 256  # datagrams read from one socket per service round


@dataclass
class BridgeStats:
    to_host: int = 0  # datagrams a guest sent out to a host program
    from_host: int = 0  # datagrams a host program sent in to a guest
    dropped: int = 0  # not UDP, too big for a frame, or the host socket refused
    errors: list[str] = field(default_factory=list)  # the last few socket errors


@dataclass
class _Port:
    sock: socket.socket
    guest_mac: int
    guest_ip: int
    guest_port: int
    peers: dict[int, int] = field(default_factory=dict)  # host port -> guest port


class HostBridge:
    """One bridge (``xenbr0``): a delivery rule for its address, a socket per VIF."""

    def __init__(self, name: str, ip: str = BRIDGE_IP, mac: str = BRIDGE_MAC) -> None:
        self.name = name
        self.ip = ip_to_int(ip)
        self.mac = mac_to_int(mac)
        self.stats = BridgeStats()
        self._ports: dict[str, _Port] = {}
        self._ident = 0

    def add_vif(self, vif: str, mac: int, ip: int, guest_port: int = DEFAULT_GUEST_PORT) -> int:
        """Open the VIF's host socket; its port on 127.0.0.1."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind((LOOPBACK, 0))
        self._ports[vif] = _Port(sock, mac, ip, guest_port)
        return sock.getsockname()[1]

    def host_port(self, vif: str) -> int:
        return self._ports[vif].sock.getsockname()[1]

    def set_guest_port(self, vif: str, port: int) -> None:
        self._ports[vif].guest_port = port

    def remove_vif(self, vif: str) -> None:
        port = self._ports.pop(vif, None)
        if port is not None:
            port.sock.close()

    def close(self) -> None:
        for vif in list(self._ports):
            self.remove_vif(vif)

    # ------------------------------------------------------------------ guest -> host
    def send(self, frame: bytes, vif: str) -> bool:
        """A frame the VFR delivered to the bridge from ``vif``: out through its socket."""
        port = self._ports.get(vif)
        headers = parse(frame)
        payload = udp_payload(frame, headers)
        if port is None or payload is None or headers.port_dst is None:
            self.stats.dropped += 1  # no socket (a VIF on another bridge), or not UDP
            return False
        try:
            port.sock.sendto(payload, (LOOPBACK, headers.port_dst))
        except OSError as exc:
            self._error(f"{vif} -> {LOOPBACK}:{headers.port_dst}: {exc}")
            return False
        port.peers[headers.port_dst] = headers.port_src or 0
        self.stats.to_host += 1
        return True

    # ------------------------------------------------------------------ host -> guest
    def receive(self) -> list[tuple[str, bytes]]:
        """Read what host programs sent: (the VIF whose socket it came to, the frame)."""
        frames = []
        for vif, port in self._ports.items():
            for _ in range(MAX_PER_POLL):
                try:
                    data, (_, sport) = port.sock.recvfrom(65536)
                except BlockingIOError:
                    break
                except OSError as exc:  # e.g. ECONNREFUSED left by an earlier send
                    self._error(f"{vif}: {exc}")
                    continue
                if len(data) > UDP_PAYLOAD_MAX:
                    self.stats.dropped += 1
                    continue
                self._ident += 1
                frames.append(
                    (
                        vif,
                        build_udp_frame(
                            mac_src=self.mac,
                            mac_dst=port.guest_mac,
                            ip_src=self.ip,
                            ip_dst=port.guest_ip,
                            port_src=sport,
                            port_dst=port.peers.get(sport, port.guest_port),
                            payload=data,
                            ident=self._ident,
                        ),
                    )
                )
                self.stats.from_host += 1
        return frames

    def _error(self, message: str) -> None:
        self.stats.dropped += 1
        self.stats.errors = [*self.stats.errors[-9:], message]
