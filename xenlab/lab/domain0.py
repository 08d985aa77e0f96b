"""Lab 08 (domain 0): a host with a control domain, driven from configuration files.

* :func:`create_from_config` — what ``xl create`` does with a parsed ``xl.cfg``;
* :func:`xl_list` — ``xl list``'s table as rows of plain data;
* :func:`frame_usage` and :func:`memory_figure` — who holds the machine's frames (domains,
  Xen, free), to watch memory return to the free pool;
* :class:`ConsoleBox` — a guest's console with an input line (xenconsoled's two rings).
"""

from __future__ import annotations

from collections import Counter

import ipywidgets as widgets
import plotly.graph_objects as go

from xenlab.hw.memory import OWNER_FREE, OWNER_XEN
from xenlab.lab.figures import finish
from xenlab.toolstack.host import Host
from xenlab.toolstack.xlcfg import DomainConfig
from xenlab.xen.domain import Domain


def create_from_config(host: Host, config: DomainConfig) -> Domain:
    """Build the domain a configuration describes (kernel, memory, maxmem, cmdline)."""
    return host.create(
        config.kernel,
        name=config.name,
        memory_mib=config.memory_mib,
        max_memory_mib=config.maxmem_mib,
        cmdline=config.cmdline,
    )


def xl_list(host: Host) -> list[tuple[str, int, int, int, str, float]]:
    """(Name, ID, Mem MiB, VCPUs, State, Time s), as ``xl list`` prints them."""
    return [(r.name, r.domid, r.memory_mib, 1, r.state, round(r.time_s, 6)) for r in host.list()]


def frame_usage(host: Host) -> dict[str, int]:
    """Machine frames by holder: each domain's name, "Xen" and "free"."""
    names = {d.domid: d.name for d in host.xen.domains.values()}
    usage: Counter[str] = Counter()
    for owner in host.xen.machine.frames.owner:
        if owner == OWNER_FREE:
            usage["free"] += 1
        elif owner == OWNER_XEN:
            usage["Xen"] += 1
        else:
            usage[names.get(owner, f"domain {owner}")] += 1
    return dict(usage)


def memory_figure(snapshots: dict[str, dict[str, int]]) -> go.Figure:
    """One stacked bar per snapshot: how the machine's frames are held."""
    holders = [*sorted({h for snap in snapshots.values() for h in snap} - {"free"}), "free"]
    fig = go.Figure()
    for holder in holders:
        fig.add_bar(
            name=holder,
            x=list(snapshots),
            y=[snap.get(holder, 0) * 4 / 1024 for snap in snapshots.values()],
        )
    return finish(fig, "Machine memory by holder", 360, barmode="stack", yaxis_title="MiB")


class ConsoleBox:
    """A domain's console (what xenconsoled drained) and a line to type into it; each
    Enter sends the line through the console ring and runs the host until idle."""

    def __init__(self, host: Host, domain: Domain, max_instructions: int = 50_000_000):
        self.host = host
        self.domain = domain
        self.max_instructions = max_instructions
        self.screen = widgets.Textarea(
            value=domain.console, layout=widgets.Layout(width="100%", height="180px")
        )
        self.line = widgets.Text(placeholder=f"type to {domain.name}, Enter sends")
        self.line.on_submit(lambda _: self.send(self.line.value))
        self.widget = widgets.VBox([self.screen, self.line])

    def send(self, text: str) -> None:
        self.host.send_input(self.domain.domid, text + "\n")
        self.host.run(max_instructions=self.max_instructions)
        self.line.value = ""
        self.screen.value = self.domain.console
