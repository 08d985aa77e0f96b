"""Ethernet, IPv4, UDP and TCP headers: what the virtual firewall-router reads and writes.

The VFR (paper §3.3.5) classifies packets by their header fields, so this module only parses
what rules can name — MAC addresses, IPv4 addresses and protocol, UDP/TCP ports — and builds
the one kind of frame domain 0 makes itself: an Ethernet/IPv4/UDP frame carrying a datagram
that arrived on a host socket.  Addresses are kept as Python ints (a MAC in 48 bits, an IPv4
address in 32, both in network order as numbers), which makes prefix matching a mask.

A parse never raises: a guest can put any bytes in a frame.  Whatever is too short or not
IPv4 simply has fewer fields (``ip_src`` None ...), and rules on missing fields behave as
``vfr.py`` says.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

ETH_HLEN = 14
ETH_P_IP = 0x0800
IP_HLEN = 20  # without options
UDP_HLEN = 8
ETH_MTU = 1500  # the largest IPv4 packet a frame carries
ETH_FRAME_MAX = ETH_HLEN + ETH_MTU
UDP_PAYLOAD_MAX = ETH_MTU - IP_HLEN - UDP_HLEN  # 1472
IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP = 1, 6, 17
PROTOCOLS = {"icmp": IPPROTO_ICMP, "tcp": IPPROTO_TCP, "udp": IPPROTO_UDP}
BROADCAST_MAC = 0xFFFF_FFFF_FFFF
HEADER_COPY = ETH_HLEN + 60 + 20  # paper §3.3.5: transmit copies only this much to check

_ETH = struct.Struct("!6s6sH")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_PORTS = struct.Struct("!HH")
_UDP = struct.Struct("!HHHH")


def mac_to_int(text: str) -> int:
    """``"00:16:3e:00:00:01"`` -> an int; ValueError unless six hex octets."""
    octets = text.split(":")
    if len(octets) != 6 or not all(len(o) == 2 for o in octets):
        raise ValueError(f"{text!r} is not a MAC address (six hex octets)")
    return int("".join(octets), 16)


def mac_str(mac: int) -> str:
    return ":".join(f"{(mac >> s) & 0xFF:02x}" for s in range(40, -8, -8))


def ip_to_int(text: str) -> int:
    """``"10.0.0.1"`` -> an int; ValueError unless four decimal octets."""
    octets = text.split(".")
    if len(octets) != 4 or not all(o.isdigit() and int(o) < 256 for o in octets):
        raise ValueError(f"{text!r} is not an IPv4 address")
    value = 0
    for octet in octets:
        value = value << 8 | int(octet)
    return value


def ip_str(ip: int) -> str:
    return ".".join(str((ip >> s) & 0xFF) for s in (24, 16, 8, 0))


@dataclass(frozen=True)
class Headers:
    """The fields of one frame a rule can test; None where the frame has no such field."""

    length: int
    mac_dst: int | None = None
    mac_src: int | None = None
    ethertype: int | None = None
    ip_src: int | None = None
    ip_dst: int | None = None
    protocol: int | None = None
    port_src: int | None = None
    port_dst: int | None = None
    l4_offset: int | None = None  # where the UDP/TCP header starts, for builders of replies

    def __str__(self) -> str:
        if self.ip_src is None or self.ip_dst is None:
            kind = "runt" if self.mac_src is None else f"ethertype {self.ethertype:#06x}"
            return f"{kind}, {self.length} bytes"
        proto = {v: k for k, v in PROTOCOLS.items()}.get(self.protocol or 0, str(self.protocol))
        src, dst = ip_str(self.ip_src), ip_str(self.ip_dst)
        if self.port_src is not None:
            src, dst = f"{src}:{self.port_src}", f"{dst}:{self.port_dst}"
        return f"{proto} {src} -> {dst}, {self.length} bytes"


def parse(frame: bytes, length: int | None = None) -> Headers:
    """Read a frame's headers.  A prefix of the frame is enough (see ``HEADER_COPY``):
    ``length`` is then the whole frame's (default ``len(frame)``).  Never raises."""
    n = len(frame)
    if length is None:
        length = n
    if n < ETH_HLEN:
        return Headers(length)
    dst, src, ethertype = _ETH.unpack_from(frame)
    eth = {
        "mac_dst": int.from_bytes(dst, "big"),
        "mac_src": int.from_bytes(src, "big"),
        "ethertype": ethertype,
    }
    if ethertype != ETH_P_IP or n < ETH_HLEN + IP_HLEN:
        return Headers(length, **eth)
    ver_ihl, _, _, _, _, _, protocol, _, ip_src, ip_dst = _IPV4.unpack_from(frame, ETH_HLEN)
    ihl = (ver_ihl & 0xF) * 4
    if ver_ihl >> 4 != 4 or ihl < IP_HLEN:
        return Headers(length, **eth)
    fields = dict(
        eth,
        ip_src=int.from_bytes(ip_src, "big"),
        ip_dst=int.from_bytes(ip_dst, "big"),
        protocol=protocol,
    )
    l4 = ETH_HLEN + ihl
    if protocol in (IPPROTO_UDP, IPPROTO_TCP) and n >= l4 + 4:
        port_src, port_dst = _PORTS.unpack_from(frame, l4)
        fields.update(port_src=port_src, port_dst=port_dst, l4_offset=l4)
    return Headers(length, **fields)


def udp_payload(frame: bytes, headers: Headers) -> bytes | None:
    """The datagram a UDP frame carries (bounded by the UDP length and the frame), or None
    if it is not a well-formed UDP frame."""
    if headers.protocol != IPPROTO_UDP or headers.l4_offset is None:
        return None
    start = headers.l4_offset + UDP_HLEN
    if len(frame) < start:
        return None
    (udp_len,) = struct.unpack_from("!H", frame, headers.l4_offset + 4)
    if udp_len < UDP_HLEN:
        return None
    return frame[start : min(len(frame), headers.l4_offset + udp_len)]


def ip_checksum(header: bytes) -> int:
    """The ones'-complement sum of 16-bit words (RFC 791's header checksum)."""
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_udp_frame(
    *,
    mac_src: int,
    mac_dst: int,
    ip_src: int,
    ip_dst: int,
    port_src: int,
    port_dst: int,
    payload: bytes,
    ident: int = 0,
) -> bytes:
    """An Ethernet/IPv4/UDP frame (no IP options; UDP checksum 0, "none", which IPv4
    allows).  ValueError if the payload does not fit one frame."""
    if len(payload) > UDP_PAYLOAD_MAX:
        raise ValueError(f"a {len(payload)}-byte datagram does not fit one frame")
    total = IP_HLEN + UDP_HLEN + len(payload)
    ip = bytearray(
        _IPV4.pack(
            0x45, 0, total, ident & 0xFFFF, 0, 64, IPPROTO_UDP, 0,
            ip_src.to_bytes(4, "big"), ip_dst.to_bytes(4, "big"),
        )
    )  # fmt: skip
    struct.pack_into("!H", ip, 10, ip_checksum(bytes(ip)))
    eth = _ETH.pack(mac_dst.to_bytes(6, "big"), mac_src.to_bytes(6, "big"), ETH_P_IP)
    udp = _UDP.pack(port_src, port_dst, UDP_HLEN + len(payload), 0)
    return eth + bytes(ip) + udp + payload


def with_mac_dst(frame: bytes, mac: int) -> bytes:
    """The frame readdressed to ``mac`` (what the router does as it delivers)."""
    return mac.to_bytes(6, "big") + frame[6:]
