"""``xenlab``: the command line.

    xenlab boot NAME|PATH [--memory MIB] [--cmdline TEXT]   build, boot, stream the console
    xenlab guests                                           list the built-in guests
    xenlab machine start [--memory MIB] [--sched rr|bvt|credit]
                                                            start the long-running machine
    xenlab machine stop|status                              stop it; is it running?
    xenlab xl COMMAND ...                                   Xen's xl for the machine: create,
                                                            list, console, destroy, ... (the
                                                            first one starts the machine)

Exit status of ``boot``: 0 when the guest powers off; 1 when it crashed (the reason, a
register dump and the code at EIP go to stderr); 2 for bad input; 3 when it shut down for
another reason (reboot, suspend, watchdog); 4 when it was stopped (instruction budget or
time limit) or blocked for good.  ``xl`` commands exit 1 on an error, as xl does;
``machine status`` exits 3 when the machine is not running (as LSB init scripts do).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_CRASH, EXIT_USAGE, EXIT_OTHER_SHUTDOWN, EXIT_STOPPED = 0, 1, 2, 3, 4


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(EXIT_USAGE, f"xenlab: error: {message} (see 'xenlab --help')\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="xenlab", description="A laboratory for Xen-style paravirtualization.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    boot = sub.add_parser("boot", help="build (if needed) and boot a guest, streaming its console")
    boot.add_argument(
        "guest",
        help="a built-in guest name (see 'xenlab guests'), a guest source folder, or an ELF image",
    )
    boot.add_argument(
        "--memory", type=_positive_int, default=16, metavar="MIB", help="domain memory (default 16)"
    )
    boot.add_argument(
        "--maxmem",
        type=_positive_int,
        default=None,
        metavar="MIB",
        help="the most the domain may balloon up to (default: --memory)",
    )
    boot.add_argument(
        "--cmdline",
        default="",
        metavar="TEXT",
        help="the guest's command line (start_info.cmd_line)",
    )
    boot.add_argument(
        "--max-instructions",
        type=_positive_int,
        default=2_000_000_000,
        metavar="N",
        help="stop a guest that runs longer than this (default 2e9)",
    )
    boot.add_argument(
        "--timeout", type=float, default=120.0, metavar="S", help="wall-clock limit (default 120)"
    )
    boot.add_argument(
        "--stats", action="store_true", help="print hypercall and trap counts at the end"
    )
    sub.add_parser("guests", help="list the built-in guests")
    from xenlab.toolstack import machine, xl

    mach = sub.add_parser("machine", help="start, stop or look at the long-running machine")
    mach_sub = mach.add_subparsers(
        dest="machine_command", metavar="start|stop|status", required=True, parser_class=_Parser
    )
    start = mach_sub.add_parser("start", help="start the machine daemon (xl commands use it)")
    start.add_argument(
        "--memory",
        type=_positive_int,
        default=machine.DEFAULT_MACHINE_MIB,
        metavar="MIB",
        help=f"the machine's memory (default {machine.DEFAULT_MACHINE_MIB})",
    )
    start.add_argument(
        "--sched", choices=machine.SCHEDULERS, default="rr", help="the scheduler (default rr)"
    )
    mach_sub.add_parser("stop", help="stop the machine and every domain on it")
    mach_sub.add_parser("status", help="is it running: pid, uptime, domains")
    xl.add_parser(sub, _Parser)
    return parser


def _cmd_guests() -> int:
    from xenlab.build import list_guests

    for guest in list_guests():
        print(f"{guest.name:<18} {guest.description}")
    return EXIT_OK


def _cmd_boot(args: argparse.Namespace) -> int:
    from xenlab.toolstack.control import BootError, boot

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    try:
        result = boot(
            args.guest,
            memory_mib=args.memory,
            max_memory_mib=args.maxmem,
            cmdline=args.cmdline,
            console=write,
            max_instructions=args.max_instructions,
            timeout=args.timeout,
        )
    except BootError as exc:
        print(f"xenlab: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if result.console and not result.console.endswith("\n"):
        write("\n")
    if args.stats:
        print(
            f"(xenlab) {result.instructions} instructions,"
            f" {result.virtual_time_ns} ns virtual time",
            file=sys.stderr,
        )
        print(f"(xenlab) hypercalls: {result.hypercalls}", file=sys.stderr)
        print(f"(xenlab) traps: {result.traps}", file=sys.stderr)
    if result.state == "crashed":
        print(f"xenlab: {result.name} {result.crash}", file=sys.stderr)
        return EXIT_CRASH
    if result.state == "shutdown":
        if result.reason == "poweroff":
            return EXIT_OK
        print(f"xenlab: {result.name} shut down: {result.reason}", file=sys.stderr)
        return EXIT_CRASH if result.reason == "crash" else EXIT_OTHER_SHUTDOWN
    print(f"xenlab: {result.name} stopped: {result.reason}", file=sys.stderr)
    return EXIT_STOPPED


def _cmd_machine(args: argparse.Namespace) -> int:
    from xenlab.toolstack import machine, xl
    from xenlab.toolstack.wire import MachineError, NotRunning

    def notice(message: str) -> None:
        print(f"xenlab: {message}", file=sys.stderr)

    where = machine.paths()
    try:
        if args.machine_command == "start":
            pid = machine.start_machine(
                where, machine_mib=args.memory, sched=args.sched, notice=notice
            )
            print(f"machine started: pid {pid}, scheduler {args.sched}, {args.memory} MiB")
            return EXIT_OK
        if args.machine_command == "stop":
            try:
                pid = machine.stop_machine(where)
            except NotRunning:
                if stale := machine.clean_stale(where):
                    notice(stale)
                print("machine: not running")
                return EXIT_OK
            print(f"machine stopped (pid {pid})")
            return EXIT_OK
        if stale := machine.clean_stale(where):
            notice(stale)
        status = machine.machine_status(where)
    except MachineError as exc:
        print(f"xenlab: error: {exc}", file=sys.stderr)
        return 1
    if status is None:
        print("machine: not running")
        return EXIT_OTHER_SHUTDOWN  # 3: LSB's "program is not running"
    up = int(status["uptime_s"])
    print(
        f"machine: running (pid {status['pid']}, up {up // 3600}:{up // 60 % 60:02}:"
        f"{up % 60:02}, scheduler {status['scheduler']}, {status['machine_mib']} MiB, "
        f"{status['free_mib']} MiB free, {'busy' if status['running'] else 'idle'})"
    )
    print(f"socket: {where.socket}")
    print(xl.format_domains(status["domains"]))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "guests":
            return _cmd_guests()
        if args.command == "machine":
            return _cmd_machine(args)
        if args.command == "xl":
            from xenlab.toolstack import xl

            return xl.main(args)
        return _cmd_boot(args)
    except KeyboardInterrupt:
        print("xenlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `xenlab boot hello | head -1`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
