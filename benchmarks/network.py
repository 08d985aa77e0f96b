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
import sys

from xenlab.lab.network import TtcpRun, ttcp_run

QUICK = "--quick" in sys.argv
THRESHOLDS = (1, 2, 4, 8, 16, 32)


def main() -> None:
    n = 400 if QUICK else 2000
    big, small = ttcp_run(n, 1472), ttcp_run(n, 64)
    runs: tuple[tuple[str, TtcpRun], ...] = (("1472-byte", big), ("64-byte", small))
    for name, r in runs:
        got = r.received
        print(
            f"ttcp guest to guest, {n} x {name} datagrams: {got['mbit_s']:.1f} Mbit/s "
            f"received, {r.sent['mbit_s']:.1f} Mbit/s sent (virtual time), "
            f"{r.kpackets_s:.0f} kpackets/s; {r.flips} page flips; "
            f"{r.wall_s / got['packets'] * 1e6:.0f} us of wall time per packet"
        )
        print(
            f"  sender: {r.kicks} notifications to domain 0 for {r.tx_packets} "
            f"packets ({r.tx_packets / max(r.kicks, 1):.1f} per notification)"
        )
    m = 256 if QUICK else 1024
    sweep = {}
    print(f"receiver's event threshold K ({m} x 1472-byte datagrams, sender bursts of 4):")
    for k in THRESHOLDS:
        r = sweep[k] = ttcp_run(m, 1472, holdoff=k, burst=4)
        print(
            f"  K={k:>2}: {r.notifications:>4} notifications, "
            f"{r.packets_per_notification:5.1f} packets per notification, "
            f"receiver {r.received['us']} us ({r.received['mbit_s']:.1f} Mbit/s virtual)"
        )
    print(
        json.dumps(
            {
                "ttcp_1472_rx_mbit_s": big.received["mbit_s"],
                "ttcp_1472_tx_mbit_s": big.sent["mbit_s"],
                "ttcp_64_rx_mbit_s": small.received["mbit_s"],
                "ttcp_64_kpackets_s": round(small.kpackets_s, 1),
                "wall_us_per_packet_1472": round(big.wall_s / big.received["packets"] * 1e6, 1),
                "tx_packets_per_kick_1472": round(big.tx_packets / max(big.kicks, 1), 1),
                "packets_per_rx_notification": {
                    str(k): round(r.packets_per_notification, 1) for k, r in sweep.items()
                },
                "rx_us_by_threshold": {str(k): r.received["us"] for k, r in sweep.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
