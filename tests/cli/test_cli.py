"""The ``xenlab`` command: exit status, streamed console, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXPECTED = Path(__file__).parents[1] / "guests" / "expected"


def xenlab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TQDM_DISABLE": "1"}  # no build progress bar on stderr
    return subprocess.run(
        [sys.executable, "-m", "xenlab", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
    )


def test_boot_hello_streams_its_console_and_exits_zero_on_poweroff() -> None:
    run = xenlab("boot", "hello")
    assert run.returncode == 0, run.stderr
    assert run.stdout == (EXPECTED / "hello.txt").read_text()
    assert run.stderr == ""


def test_boot_traps_with_stats_reports_counts_on_stderr() -> None:
    run = xenlab("boot", "traps", "--stats")
    assert run.returncode == 0
    assert run.stdout == (EXPECTED / "traps.txt").read_text()
    assert "'#PF page fault': 2" in run.stderr


def test_a_crashing_guest_exits_nonzero_with_reason_registers_and_disassembly() -> None:
    run = xenlab("boot", "oops")
    assert run.returncode == 1
    assert "about to write through a NULL pointer" in run.stdout
    assert "domain crashed: #PF page fault" in run.stderr
    assert "eip=" in run.stderr and "=> c" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_runaway_guest_is_stopped_with_its_own_exit_status() -> None:
    run = xenlab(
        "boot", "bench_compute", "--cmdline", "n=4000000000", "--max-instructions", "1000000"
    )
    assert run.returncode == 4
    assert "stopped: instruction budget of 1000000 spent" in run.stderr


def test_guests_lists_the_built_in_guests_with_descriptions() -> None:
    run = xenlab("guests")
    assert run.returncode == 0
    names = [line.split()[0] for line in run.stdout.splitlines()]
    assert {"hello", "traps", "oops", "badcalls"} <= set(names)


def test_an_unknown_guest_is_one_clear_error_line() -> None:
    run = xenlab("boot", "no-such-guest")
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("xenlab: error: unknown guest")


def test_a_malformed_image_is_one_clear_error_line(tmp_path: Path) -> None:
    junk = tmp_path / "kernel.elf"
    junk.write_bytes(b"\x7fELF" + b"\0" * 60)
    run = xenlab("boot", str(junk))
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "kernel.elf" in run.stderr
    assert "Traceback" not in run.stderr


def test_an_elf_without_xen_notes_is_refused(tmp_path: Path) -> None:
    run = xenlab("boot", sys.executable)  # an ELF, but not a Xen kernel (nor x86-32)
    assert run.returncode == 2
    assert run.stderr.startswith("xenlab: error:") and "Traceback" not in run.stderr


def test_bad_arguments_are_one_clear_error_line() -> None:
    for args in (("boot", "hello", "--memory", "lots"), ("boot",), ("frobnicate",)):
        run = xenlab(*args)
        assert run.returncode == 2, args
        assert run.stderr.count("\n") == 1 and run.stderr.startswith("xenlab: error:"), run.stderr


def test_the_cli_works_from_any_working_directory(tmp_path: Path) -> None:
    run = xenlab("boot", "hello", cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.startswith("Hello from xenlab!")


def test_boot_accepts_a_folder_of_guest_sources(tmp_path: Path) -> None:
    guest = tmp_path / "myguest"
    guest.mkdir()
    (guest / "main.c").write_text(
        "#include <console.h>\n#include <hypervisor.h>\n"
        "void start_kernel(start_info_t *si)\n"
        '{ printk("my own kernel\\n"); shutdown(SHUTDOWN_poweroff); }\n'
    )
    run = xenlab("boot", str(guest))
    assert run.returncode == 0, run.stderr
    assert run.stdout == "my own kernel\n"


def test_a_guest_that_does_not_compile_shows_the_compilers_message(tmp_path: Path) -> None:
    guest = tmp_path / "broken"
    guest.mkdir()
    (guest / "main.c").write_text("void start_kernel(void) { this is not C; }\n")
    run = xenlab("boot", str(guest))
    assert run.returncode == 2
    assert "main.c" in run.stderr and "error:" in run.stderr
    assert "Traceback" not in run.stderr


def test_output_cut_short_by_a_closed_pipe_is_not_an_error_trace() -> None:
    env = {**os.environ, "TQDM_DISABLE": "1"}
    command = f"'{sys.executable}' -m xenlab boot traps | head -1"
    run = subprocess.run(command, shell=True, capture_output=True, text=True, env=env, timeout=300)
    assert run.stdout == "set_trap_table: 0\n"
    assert "Traceback" not in run.stderr


def test_maxmem_sets_what_the_domain_may_balloon_up_to() -> None:
    run = xenlab("boot", "memops", "--maxmem", "20")
    assert "maximum_reservation (the toolstack's maxmem)" in run.stdout
    assert "=   5120  FAIL" in run.stdout  # memops expects the default, 16 MiB
