"""Lab 00 (the tour): a button that boots a guest, its console, its status, and a summary
of what the hypervisor saw — hypercalls by name, traps by vector, instructions, virtual
time.

Everything the widget shows is also kept as plain state (``result``, ``console_text``)
so notebook assert cells and tests can check it without a browser.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import plotly.graph_objects as go

from xenlab.lab.figures import finish
from xenlab.toolstack.control import BootError, BootResult, boot

CONSOLE_SHOWN_CHARS = 20_000


class BootPanel:
    """Boot button + console + status line for one guest."""

    def __init__(
        self,
        guest: str = "hello",
        *,
        memory_mib: int = 16,
        cmdline: str = "",
        max_instructions: int = 200_000_000,
        timeout: float = 30.0,
    ) -> None:
        self.guest = guest
        self.memory_mib = memory_mib
        self.cmdline = cmdline
        # A runaway guest must not freeze the notebook: a few seconds at most, then stopped.
        self.max_instructions = max_instructions
        self.timeout = timeout
        self.result: BootResult | None = None
        self.console_text = ""
        self.button = widgets.Button(
            description=f"Boot {guest}", icon="play", button_style="primary"
        )
        self.console = widgets.HTML(self._render_console())
        self.status = widgets.HTML("<i>not booted yet</i>")
        self.button.on_click(lambda _button: self.boot())
        self.widget = widgets.VBox([self.button, self.console, self.status])

    def _ipython_display_(self) -> None:  # shows the widget when the panel ends a cell
        from IPython.display import display

        display(self.widget)

    def _render_console(self) -> str:
        shown = self.console_text[-CONSOLE_SHOWN_CHARS:]  # a chatty guest stays cheap to draw
        text = html.escape(shown) or "&nbsp;"
        return (
            "<pre style='background:#111;color:#ddd;padding:6px;min-height:3em;"
            f"max-height:20em;overflow:auto'>{text}</pre>"
        )

    def _append(self, text: str) -> None:
        self.console_text += text
        self.console.value = self._render_console()

    def boot(self) -> BootResult | None:
        self.console_text = ""
        self.console.value = self._render_console()
        self.status.value = f"<i>booting {html.escape(self.guest)}…</i>"
        self.button.disabled = True
        try:
            self.result = boot(
                self.guest,
                memory_mib=self.memory_mib,
                cmdline=self.cmdline,
                console=self._append,
                max_instructions=self.max_instructions,
                timeout=self.timeout,
            )
        except BootError as exc:
            self.result = None
            self.status.value = f"<b style='color:#b00'>error:</b> {html.escape(str(exc))}"
            return None
        finally:
            self.button.disabled = False
        self.status.value = status_line(self.result)
        return self.result


def status_line(result: BootResult) -> str:
    colour = "#070" if result.ok else "#b00"
    what = f"{result.state}: {html.escape(result.reason)}"
    return (
        f"<b style='color:{colour}'>{what}</b> — {result.instructions:,} guest instructions, "
        f"{result.virtual_time_ns / 1e3:,.1f} µs of virtual time, "
        f"{result.wall_seconds * 1e3:.0f} ms wall clock"
    )


def summary_figure(result: BootResult) -> go.Figure:
    """Hypercalls by name and traps by vector, side by side."""
    names = list(result.hypercalls) + list(result.traps)
    counts = list(result.hypercalls.values()) + list(result.traps.values())
    kinds = ["hypercall"] * len(result.hypercalls) + ["trap"] * len(result.traps)
    fig = go.Figure()
    for kind, colour in (("hypercall", "#1f77b4"), ("trap", "#d62728")):
        fig.add_bar(
            x=[n for n, k in zip(names, kinds, strict=True) if k == kind],
            y=[c for c, k in zip(counts, kinds, strict=True) if k == kind],
            name=kind + "s",
            marker_color=colour,
        )
    return finish(
        fig,
        f"What {result.name} asked of Xen ({result.instructions:,} instructions)",
        320,
        yaxis_title="count",
    )


def summary_rows(result: BootResult) -> list[tuple[str, str]]:
    """The summary as (what, value) rows for a table."""
    rows = [("state", f"{result.state} ({result.reason})")]
    rows += [(f"hypercall {name}", str(n)) for name, n in result.hypercalls.items()]
    rows += [(f"trap {name}", str(n)) for name, n in result.traps.items()]
    rows += [
        ("guest instructions", f"{result.instructions:,}"),
        ("instructions to first output", f"{result.first_output_instructions or 0:,}"),
        ("virtual time", f"{result.virtual_time_ns:,} ns"),
        ("wall clock (host)", f"{result.wall_seconds * 1e3:.1f} ms"),
    ]
    return rows


def hypercall_stub(name: str) -> list[str]:
    """The stub Xen's domain builder writes into a guest's hypercall page for ``name``,
    disassembled: what ``HYPERVISOR_<name>(...)`` really executes."""
    import capstone

    from xenlab.abi.hypercalls import HYPERCALL_STUB_SIZE, NUMBER
    from xenlab.toolstack.builder import hypercall_page

    offset = NUMBER[name] * HYPERCALL_STUB_SIZE
    code = hypercall_page()[offset : offset + HYPERCALL_STUB_SIZE]
    lines = []
    for insn in capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32).disasm(code, offset):
        lines.append(f"hypercall_page+{insn.address:#05x}: {insn.mnemonic} {insn.op_str}".rstrip())
        if insn.mnemonic in ("ret", "int3") or (name == "iret" and insn.mnemonic == "int"):
            break
    return lines
