"""Virtual-network benchmarks (paper §3.3.5, §3.2; Table 6's ttcp).

- Guest-to-guest throughput: two xenolite domains with one VIF each, ttcp over UDP through
  domain 0's firewall-router; every received packet is a page flip.  Throughput is in
  virtual time (one guest instruction is one nanosecond; Xen and domain 0 cost nothing, so
  this is what the two guests' drivers, stacks and system calls cost), as each side's ttcp
  prints it; wall time per packet is the emulator's.  Full-size (1472-byte) and small
  (64-byte) datagrams.

- Packets per notification as the receiver's event threshold varies: the receiver asks to be
  notified once per K responses (``rsp_event = rsp_cons + K``, "holdoff=K", with a 1 ms
  timeout for the last few), the sender sends in bursts of 4, waiting after each until
  domain 0 has taken them.  Notifications from domain 0 to the receiver, packets per
  notification, and what the hold-off costs in the receiver's elapsed time.  The sender's
  own notifications show the other half of §3.2: domain 0 asks for an event only for the
  first request after it drained the ring.

Prints readable lines, then one JSON object on the last line.
Usage: python benchmarks/network.py [--quick]
"""

from __future__ import annotations

import json
import re
import sys
import time

from xenlab.dom0.network import attach_vif
from xenlab.toolstack.host import Host

QUICK = "--quick" in sys.argv
THRESHOLDS = (1, 2, 4, 8, 16, 32)
_RATE = re.compile(r"(\d+) datagrams, (\d+) bytes in (\d+) us = ([\d.]+) Mbit/s")


def ttcp(n: int, size: int, *, holdoff: int = 1, burst: int = 0) -> dict[str, float]:
    """One run: the receiver's and sender's figures and the VIFs' counters."""
    host = Host(64)
    rx = host.create(
        "xenolite", name="rx", memory_mib=8, cmdline=f"ttcp=rx n={n} holdoff={holdoff}"
    )
    tx = host.create(
        "xenolite",
        name="tx",
        memory_mib=8,
        cmdline=f"ttcp=tx peer=10.0.0.1 n={n} size={size} burst={burst}",
    )
    rx_vif, tx_vif = attach_vif(host, rx), attach_vif(host, tx)
    t0 = time.perf_counter()
    host.run(max_instructions=4_000_000_000)
    wall = time.perf_counter() - t0
    assert host.xen.check_invariants() == []
    got = _RATE.search(rx.console)
    sent = _RATE.search(tx.console)
    assert got and sent and "ttcp-r: 0 lost" in rx.console, rx.console + tx.console
    return {
        "packets": int(got[1]),
        "rx_us": int(got[3]),
        "rx_mbit_s": float(got[4]),
        "tx_mbit_s": float(sent[4]),
        "wall_s": wall,
        "flips": rx_vif.stats.rx_flips,
        "rx_notifications": rx_vif.stats.notifications,
        "tx_kicks": tx_vif.stats.kicks,
        "tx_packets": tx_vif.stats.tx_packets,
    }


def main() -> None:
    n = 400 if QUICK else 2000
    big = ttcp(n, 1472)
    small = ttcp(n, 64)
    for name, r in (("1472-byte", big), ("64-byte", small)):
        print(
            f"ttcp guest to guest, {n} x {name} datagrams: {r['rx_mbit_s']:.1f} Mbit/s received, "
            f"{r['tx_mbit_s']:.1f} Mbit/s sent (virtual time), "
            f"{r['packets'] / r['rx_us'] * 1e3:.0f} kpackets/s; {r['flips']} page flips; "
            f"{r['wall_s'] / r['packets'] * 1e6:.0f} us of wall time per packet"
        )
        print(
            f"  sender: {r['tx_kicks']} notifications to domain 0 for {r['tx_packets']} "
            f"packets ({r['tx_packets'] / max(r['tx_kicks'], 1):.1f} per notification)"
        )
    m = 256 if QUICK else 1024
    sweep = {}
    print(f"receiver's event threshold K ({m} x 1472-byte datagrams, sender bursts of 4):")
    for k in THRESHOLDS:
        r = ttcp(m, 1472, holdoff=k, burst=4)
        sweep[k] = r
        print(
            f"  K={k:>2}: {r['rx_notifications']:>4} notifications, "
            f"{r['flips'] / max(r['rx_notifications'], 1):5.1f} packets per notification, "
            f"receiver {r['rx_us']} us ({r['rx_mbit_s']:.1f} Mbit/s virtual)"
        )
    print(
        json.dumps(
            {
                "ttcp_1472_rx_mbit_s": big["rx_mbit_s"],
                "ttcp_1472_tx_mbit_s": big["tx_mbit_s"],
                "ttcp_64_rx_mbit_s": small["rx_mbit_s"],
                "ttcp_64_kpackets_s": round(small["packets"] / small["rx_us"] * 1e3, 1),
                "wall_us_per_packet_1472": round(big["wall_s"] / big["packets"] * 1e6, 1),
                "tx_packets_per_kick_1472": round(big["tx_packets"] / max(big["tx_kicks"], 1), 1),
                "packets_per_rx_notification": {
                    str(k): round(r["flips"] / max(r["rx_notifications"], 1), 1)
                    for k, r in sweep.items()
                },
                "rx_us_by_threshold": {str(k): r["rx_us"] for k, r in sweep.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
