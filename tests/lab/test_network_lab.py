"""The network lab's readers on hand-made consoles and listings, and its figures on made-up
runs: the notebook's asserts lean on them reading exactly what user_ttcp.c and ``vfr list``
print."""

from __future__ import annotations

import pytest

from xenlab.dom0.packet import ip_to_int, mac_to_int
from xenlab.dom0.vfr import VFR
from xenlab.lab.network import (
    TTCP_FIN,
    TtcpRun,
    drain,
    host_socket,
    rule_row,
    threshold_figure,
    throughput_figure,
    ttcp_lines,
    ttcp_payload,
    ttcp_report,
    vfr_rows,
)

RECEIVER = """xenolite: booting in ring 1 on Xen, 2048 pages, cmdline 'ttcp=rx n=200'
netfront: device/vif/0: mac 00:16:3e:6e:b7:68, ip 10.0.0.1, 128 receive pages posted, port 3
ttcp: 00:16:3e:6e:b7:68, 10.0.0.1, hold-off 1
ttcp-r: waiting for 200 datagrams
ttcp-r: 200 datagrams, 294400 bytes in 1564 us = 1505.882 Mbit/s
ttcp-r: 0 lost, 0 out of sequence
ttcp-r: tx 0 (0 refused), 1 notifications to domain 0
ttcp-r: rx 200 (201 page flips), 2 waits, 2 woken by domain 0
kernel: power off
"""


def test_a_receivers_console_is_read_line_by_line() -> None:
    report = ttcp_report(RECEIVER)
    assert report == {
        "expected": 200,
        "packets": 200,
        "bytes": 294400,
        "us": 1564,
        "mbit_s": 1505.882,
        "lost": 0,
        "disorder": 0,
        "tx": 0,
        "refused": 0,
        "kicks": 1,
        "rx": 200,
        "flips": 201,
        "waits": 2,
        "wakeups": 2,
    }
    assert isinstance(report["mbit_s"], float) and isinstance(report["packets"], int)


def test_a_receiver_still_waiting_has_only_its_expectation() -> None:
    assert ttcp_report(RECEIVER.split("ttcp-r: 200 datagrams")[0]) == {"expected": 200}
    assert ttcp_report("echo: 12 bytes from 10.0.0.254:5 sent back\n") == {}


def test_only_the_network_lines_are_kept() -> None:
    lines = ttcp_lines(RECEIVER).splitlines()
    assert lines[0].startswith("netfront:") and lines[-1].startswith("ttcp-r: rx 200")
    assert len(lines) == 7 and not any(x.startswith(("kernel", "xenolite")) for x in lines)


def test_the_payload_is_user_ttcps() -> None:
    first = ttcp_payload(1, 12)
    assert first == bytes([0, 0, 0, 1, 29, 36, 43, 50, 57, 64, 71, 78])  # i * 7 + 1 from i = 4
    assert len(ttcp_payload(0x01020304, 1472)) == 1472
    assert ttcp_payload(0x01020304, 1472)[:4] == bytes([1, 2, 3, 4])
    assert ttcp_payload(5, 1472)[40] == (40 * 7 + 1) & 0xFF
    assert TTCP_FIN == b"\xff" * 4


def test_vfr_list_is_read_back_into_rows() -> None:
    vfr = VFR()
    vfr.install_vif("vif1.0", mac_to_int("00:16:3e:00:00:01"), ip_to_int("10.0.0.1"))
    vfr.add("action=drop proto=udp dst-port=5001")
    vfr.rules[2].packets, vfr.rules[2].bytes = 3, 300
    rows = vfr_rows(vfr.listing())
    assert [r.index for r in rows] == list(range(len(vfr.rules)))
    assert [r.rule for r in rows] == [str(r) for r in vfr.rules]
    row = rule_row(vfr.listing(), "drop proto=udp dst-port=5001")
    assert (row.index, row.origin, row.packets, row.bytes) == (2, "firewall", 3, 300)
    with pytest.raises(KeyError):
        rule_row(vfr.listing(), "drop proto=tcp")


def run(size: int, holdoff: int, burst: int, notifications: int, mbit_s: float) -> TtcpRun:
    received = {"packets": 64, "us": 500, "mbit_s": mbit_s, "lost": 0}
    return TtcpRun(
        size, holdoff, burst, received, {"mbit_s": mbit_s}, 64, notifications, 8, 65, 0.1
    )


def test_the_figures_plot_what_the_runs_say() -> None:
    runs = [run(1472, k, b, 64 // max(k, b), 1000.0 + k) for b in (1, 4) for k in (1, 2, 4)]
    assert runs[1].packets_per_notification == 2 and runs[0].kpackets_s == 128
    fig = threshold_figure(runs)
    per_notification = [t for t in fig.data if t.xaxis == "x"]
    assert [list(t.y) for t in per_notification] == [[1, 2, 4], [4, 4, 4]]
    assert [t.name for t in per_notification] == ["sender bursts of 1", "sender bursts of 4"]
    sizes = throughput_figure([run(s, 1, 0, 1, s / 2) for s in (64, 1472)])
    assert list(sizes.data[0].x) == [64, 1472] and list(sizes.data[0].y) == [32, 736]


def test_drain_reads_everything_waiting_and_waits_only_when_asked() -> None:
    with host_socket() as a, host_socket() as b:
        assert drain(a) == [] and drain(a, 0.01) == []
        for message in (b"one", b"two"):
            b.sendto(message, a.getsockname())
        assert [data for data, _ in drain(a, 1.0)] == [b"one", b"two"]
