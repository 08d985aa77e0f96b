"""``xenlab xl``: Xen's ``xl`` commands, as a client of the machine daemon.

    xenlab xl create FILE.cfg [-p] [-c]     build the domain a configuration file describes
    xenlab xl list                          Name, ID, Mem, VCPUs, State, Time(s)
    xenlab xl console DOM [--no-follow]     its console so far, then what comes (Ctrl-C leaves)
    xenlab xl destroy|pause|unpause DOM
    xenlab xl mem-set DOM MEM               the balloon target (MiB; or 64m, 1g)
    xenlab xl sched-bvt DOM [--mcu-advance N] [--warp N] [--warpl NS] [--warpu NS]
    xenlab xl sched-credit DOM [--weight N]
    xenlab xl dmesg [-c]                    the hypervisor's log
    xenlab xl block-attach DOM DISKSPEC     a VBD, xl-disk-configuration syntax
    xenlab xl network-attach DOM [mac=..] [ip=..] [bridge=..]
    xenlab xl vfr ARGS...                   the virtual firewall-router's rules (paper §3.3.5)

Each command is one or a few requests to the machine (``machine.py``), over ``wire.py``;
the first one starts the machine if it does not run.  What a command needs from the user's
side — reading the config file, resolving paths against the current directory, building a
built-in guest's kernel — happens here, so the daemon gets only absolute paths and is never
busy compiling.  DOM is a domain id or name, as for xl.  Errors are one line on stderr and
exit status 1, as xl's are.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xenlab.toolstack import machine
from xenlab.toolstack.wire import Client, MachineError, console_bytes

if TYPE_CHECKING:
    from xenlab.toolstack.xlcfg import Disk, DomainConfig, Vif

EXIT_OK, EXIT_ERROR = 0, 1
CONSOLE_POLL_S = 0.1  # how often `xl console` asks for new output
_FLAGS = "rbpscd"  # xl list's State column: running, blocked, paused, shutdown, crashed, dying


class XlError(Exception):
    """A mistake on the user's side, found before asking the machine; one line."""


# --- The command line ---------------------------------------------------------------------------


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """``xl`` and its subcommands, under the ``xenlab`` parser's subcommands ``sub``."""
    xl = sub.add_parser("xl", help="xl commands for the running machine (starts it if needed)")
    cmds = xl.add_subparsers(
        dest="xl_command", metavar="COMMAND", required=True, parser_class=parser_class
    )
    create = cmds.add_parser("create", help="create a domain from an xl configuration file")
    create.add_argument("config", metavar="FILE.cfg")
    create.add_argument("-p", dest="paused", action="store_true", help="leave it paused")
    create.add_argument("-c", dest="console", action="store_true", help="attach its console")
    cmds.add_parser("list", help="list the domains")
    console = cmds.add_parser("console", help="show a domain's console and follow it")
    console.add_argument("dom", metavar="DOM")
    console.add_argument("--no-follow", action="store_true", help="print what is there and return")
    for name, what in (
        ("destroy", "destroy a domain at once"),
        ("pause", "stop scheduling a domain"),
        ("unpause", "schedule a paused domain again"),
    ):
        cmds.add_parser(name, help=what).add_argument("dom", metavar="DOM")
    mem = cmds.add_parser("mem-set", help="set a domain's balloon target")
    mem.add_argument("dom", metavar="DOM")
    mem.add_argument("memory", metavar="MEM", help="MiB, or with a suffix: 64m, 1g")
    bvt = cmds.add_parser("sched-bvt", help="show or set a domain's BVT parameters")
    bvt.add_argument("dom", metavar="DOM")
    bvt.add_argument("--mcu-advance", type=int, metavar="N", help="the inverse of the weight")
    bvt.add_argument("--warp", type=int, metavar="N", help="virtual time to borrow on waking")
    bvt.add_argument("--warpl", type=int, metavar="NS", help="the longest warp")
    bvt.add_argument("--warpu", type=int, metavar="NS", help="unwarped time between warps")
    credit = cmds.add_parser("sched-credit", help="show or set a domain's credit weight")
    credit.add_argument("dom", metavar="DOM")
    credit.add_argument("-w", "--weight", type=int, metavar="N")
    dmesg = cmds.add_parser("dmesg", help="print the hypervisor's log")
    dmesg.add_argument("-c", dest="clear", action="store_true", help="and clear it")
    block = cmds.add_parser("block-attach", help="give a domain a virtual block device")
    block.add_argument("dom", metavar="DOM")
    block.add_argument("spec", nargs="+", metavar="DISKSPEC", help="e.g. file:disk.img,xvdb,w")
    net = cmds.add_parser("network-attach", help="give a domain a virtual network interface")
    net.add_argument("dom", metavar="DOM")
    net.add_argument("spec", nargs="*", metavar="KEY=VALUE", help="mac=..., ip=..., bridge=...")
    vfr = cmds.add_parser("vfr", help="show or change the virtual firewall-router's rules")
    vfr.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS")


def main(args: argparse.Namespace) -> int:
    """Run one parsed ``xl`` command; its exit status."""
    command = COMMANDS[args.xl_command]
    try:
        return command(args)
    except (XlError, MachineError) as exc:
        _say(f"error: {exc}")
        return EXIT_ERROR


def _say(message: str) -> None:
    print(f"xenlab: {message}", file=sys.stderr)


def _client() -> Client:
    return machine.connect(machine.paths(), start=True, notice=_say)


# --- The commands -------------------------------------------------------------------------------


def cmd_create(args: argparse.Namespace) -> int:
    from xenlab.toolstack.xlcfg import XlConfigError, load_config

    path = Path(args.config)
    print(f"Parsing config from {path}", file=sys.stderr)  # as xl says it
    try:
        cfg = load_config(path)
        text = path.read_text(encoding="utf-8")
    except XlConfigError as exc:
        raise XlError(str(exc)) from None  # FILE:LINE: KEY: what is wrong
    except OSError as exc:
        raise XlError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    kernel = _kernel_image(cfg)
    with _client() as client:
        reply = client.call(
            "create",
            config=text,
            source=str(path),
            base_dir=str(path.resolve().parent),
            kernel=str(kernel),
            paused=args.paused,
        )
    for warning in reply["warnings"]:
        _say(f"warning: {warning}")
    print(f"Created domain {reply['name']} (id {reply['domid']})")
    if args.console:
        return follow_console(reply["domid"])
    return EXIT_OK


def _kernel_image(cfg: DomainConfig) -> Path:
    """The kernel's ELF as an absolute path: the daemon runs elsewhere (from /), and it
    should not be the one compiling a built-in guest for seconds while guests wait."""
    from xenlab.build import BuildError, build_guest

    kernel = Path(cfg.kernel)
    if cfg.kernel_is_path and kernel.is_file():
        return kernel.resolve()
    try:
        return Path(build_guest(cfg.kernel)).resolve()
    except BuildError as exc:
        raise XlError(f"{cfg.source}: kernel: {exc}") from None


def cmd_list(args: argparse.Namespace) -> int:
    with _client() as client:
        rows = client.call("list")["domains"]
    print(format_domains(rows))
    return EXIT_OK


def format_domains(rows: list[dict[str, Any]]) -> str:
    """xl list's table: the same columns and widths as xl's."""
    lines = [f"{'Name':<40} {'ID':>5} {'Mem':>5} {'VCPUs':>5}     {'State':<6}  {'Time(s)':>8}"]
    for row in rows:
        flags = "".join(f if f == row["state"] else "-" for f in _FLAGS)
        lines.append(
            f"{row['name']:<40} {row['domid']:>5} {row['memory_mib']:>5} {row['vcpus']:>5}"
            f"     {flags}  {row['time_s']:>8.1f}"
        )
    return "\n".join(lines)


def cmd_console(args: argparse.Namespace) -> int:
    return follow_console(args.dom, follow=not args.no_follow)


def follow_console(dom: int | str, *, follow: bool = True) -> int:
    """Print the console from its start; with ``follow``, keep printing until the domain
    is gone or Ctrl-C, sending what arrives on stdin as console input (a terminal gives
    it a line at a time; a pipe or file is sent as it is read, once)."""
    sys.stdout.flush()  # what print() wrote comes first: the console goes to the buffer
    out = sys.stdout.buffer
    stdin_open = follow and _stdin_fd() is not None
    offset = 0
    try:
        with _client() as client:
            while True:
                reply = client.call("console", dom=dom, offset=offset)
                dom = reply["domid"]  # follow this domain, not a later one of the same name
                if reply["skipped"]:
                    _say(f"({reply['skipped']} older bytes of the console were not kept)")
                out.write(console_bytes(reply["data"]))
                out.flush()
                offset = reply["offset"]
                if reply["more"]:
                    continue
                if not follow:
                    return EXIT_OK
                if reply["ended"]:
                    _say(f"domain {dom} ({reply['name']}) {reply['ended']}")
                    return EXIT_OK
                stdin_open = _forward_input(client, dom, stdin_open)
    except KeyboardInterrupt:
        out.write(b"\n")
        out.flush()
        return EXIT_OK


def _forward_input(client: Client, dom: int | str, stdin_open: bool) -> bool:
    """Wait up to CONSOLE_POLL_S for input and send it to the guest; whether stdin is
    still open."""
    if not stdin_open:
        time.sleep(CONSOLE_POLL_S)
        return False
    fd = _stdin_fd()
    if fd is None:
        return False
    readable, _, _ = select.select([fd], [], [], CONSOLE_POLL_S)
    if not readable:
        return True
    data = os.read(fd, 4096)
    if not data:
        return False  # end of input: keep following the output
    text = data.decode("utf-8", errors="replace")
    reply = client.call("send-input", dom=dom, text=text)
    if reply["sent"] < reply["of"]:
        _say(f"the console ring took {reply['sent']} of {reply['of']} bytes of input")
    return True


def _stdin_fd() -> int | None:
    try:
        return sys.stdin.fileno() if sys.stdin is not None else None
    except (OSError, ValueError):  # closed, or replaced by something without a descriptor
        return None


def _simple(cmd: str) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        with _client() as client:
            client.call(cmd, dom=args.dom)
        return EXIT_OK

    command.__name__ = f"cmd_{cmd}"
    return command


def cmd_mem_set(args: argparse.Namespace) -> int:
    mib = parse_mib(args.memory)
    with _client() as client:
        target_kib = client.call("mem-set", dom=args.dom, mib=mib)["target_kib"]
    print(f"memory/target = {target_kib} KiB")
    return EXIT_OK


def parse_mib(text: str) -> int:
    """xl's memory sizes: a number of MiB, or with a suffix m or g."""
    number, unit = text[:-1], text[-1:].lower()
    if unit.isdigit():
        number, unit = text, "m"
    if not number.isdigit() or unit not in "mg":
        raise XlError(f"{text!r}: give a memory size in MiB, like 32, 32m or 1g")
    return int(number) << (10 if unit == "g" else 0)


def cmd_sched_bvt(args: argparse.Namespace) -> int:
    given = {
        name: getattr(args, name)
        for name in ("mcu_advance", "warp", "warpl", "warpu")
        if getattr(args, name) is not None
    }
    with _client() as client:
        _need_scheduler(client, "bvt")
        params = client.call("sched-bvt", dom=args.dom, **given)["params"]
        name = _name_of(client, args.dom)
    print(f"{'Name':<32} {'ID':>5} {'MCU-adv':>8} {'Warp':>8} {'WarpL(ns)':>11} {'WarpU(ns)':>11}")
    print(
        f"{name[0]:<32} {name[1]:>5} {params['mcu_advance']:>8} {params['warp']:>8}"
        f" {params['warpl']:>11} {params['warpu']:>11}"
    )
    return EXIT_OK


def cmd_sched_credit(args: argparse.Namespace) -> int:
    given = {} if args.weight is None else {"weight": args.weight}
    with _client() as client:
        _need_scheduler(client, "credit")
        params = client.call("sched-credit", dom=args.dom, **given)["params"]
        name = _name_of(client, args.dom)
    print(f"{'Name':<32} {'ID':>5} {'Weight':>6}")
    print(f"{name[0]:<32} {name[1]:>5} {params['weight']:>6}")
    return EXIT_OK


def _need_scheduler(client: Client, wanted: str) -> None:
    running = client.call("status")["scheduler"]
    if running != wanted:
        raise XlError(
            f"the machine runs the {running} scheduler, not {wanted}: stop it and start it "
            f"with 'xenlab machine start --sched {wanted}'"
        )


def _name_of(client: Client, dom: str) -> tuple[str, int]:
    for row in client.call("list")["domains"]:
        if dom in (row["name"], str(row["domid"])):
            return row["name"], row["domid"]
    return dom, -1


def cmd_dmesg(args: argparse.Namespace) -> int:
    with _client() as client:
        lines = client.call("dmesg", clear=args.clear)["lines"]
    for line in lines:
        print(line)
    return EXIT_OK


def cmd_block_attach(args: argparse.Namespace) -> int:
    disk = parse_disk(",".join(args.spec))
    with _client() as client:
        spec = {
            "target": str(disk.target),  # absolute: resolved against this directory
            "vdev": disk.vdev,
            "readonly": disk.readonly,
            "offset": disk.offset,
            "size": disk.size,
        }
        _print_result(client.call("block-attach", dom=args.dom, disk=spec)["result"])
    return EXIT_OK


def cmd_network_attach(args: argparse.Namespace) -> int:
    spec = ",".join(args.spec)
    vif = parse_vif(spec)
    given_mac = any(part.strip().startswith("mac=") for part in spec.split(","))
    with _client() as client:
        wire_vif = {"mac": vif.mac if given_mac else None, "ip": vif.ip, "bridge": vif.bridge}
        _print_result(client.call("network-attach", dom=args.dom, vif=wire_vif)["result"])
    return EXIT_OK


def cmd_vfr(args: argparse.Namespace) -> int:
    with _client() as client:
        _print_result(client.call("vfr", args=list(args.args))["result"])
    return EXIT_OK


def _print_result(result: Any) -> None:
    """What a back end answered: text as it is, a list a line per item, a mapping as
    ``key: value`` lines."""
    if result is None:
        return
    if isinstance(result, list):
        for item in result:
            print(item)
    elif isinstance(result, dict):
        for key, value in result.items():
            print(f"{key}: {value}")
    else:
        print(result)


# --- Device specs, read by xlcfg's own parser ------------------------------------------------


def parse_disk(spec: str) -> Disk:
    """A disk spec as in a config file's ``disk = [...]``, paths relative to the current
    directory (xl's rule for block-attach)."""
    return _device("disk", spec, "block-attach").disks[0]


def parse_vif(spec: str) -> Vif:
    return _device("vif", spec, "network-attach").vifs[0]


def _device(key: str, spec: str, command: str) -> DomainConfig:
    """Read one device spec with ``xlcfg`` by wrapping it in a minimal configuration (so
    the command line accepts exactly what a config file does)."""
    from xenlab.toolstack.xlcfg import XlConfigError, parse_config

    if any(ord(c) < 0x20 for c in spec):
        raise XlError(f"{command}: the spec holds a control character")
    quoted = '"' + spec.replace("\\", "\\\\").replace('"', '\\"') + '"'
    # kernel: any path will do, it is not looked at (a '/' makes it a path, not a name)
    text = f'name = "xl"\nkernel = "/{command}"\n{key} = [{quoted}]\n'
    try:
        return parse_config(text, source=command, base_dir=Path.cwd())
    except XlConfigError as exc:
        raise XlError(f"{command}: {exc.message}") from None


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "create": cmd_create,
    "list": cmd_list,
    "console": cmd_console,
    "destroy": _simple("destroy"),
    "pause": _simple("pause"),
    "unpause": _simple("unpause"),
    "mem-set": cmd_mem_set,
    "sched-bvt": cmd_sched_bvt,
    "sched-credit": cmd_sched_credit,
    "dmesg": cmd_dmesg,
    "block-attach": cmd_block_attach,
    "network-attach": cmd_network_attach,
    "vfr": cmd_vfr,
}
