"""The guest toolchain: clang and LLD from the ``ziglang`` wheel.

xenlab's guests are freestanding 32-bit x86 kernels. ``pip install`` brings
a complete cross toolchain with the ``ziglang`` package (zig bundles clang
and LLD), so neither students' laptops nor Binder images need a system
``gcc -m32``. The flags below follow ``toolchain-notes.md`` exactly; each
one is there to avoid a pitfall measured there (SSE from the default
pentium4 CPU, UB-sanitizer calls, ``.eh_frame``, leaked absolute paths).

Who calls what: :func:`xenlab.build.guests.build_guest` stages a guest's
sources in a temporary directory and calls :func:`compile_sources` once and
:func:`link` once, with that directory as the working directory and only
relative paths, so nothing about the machine ends up in the image.
:func:`zig_version` feeds the cache key (:mod:`xenlab.build.cache`).
Nothing else in xenlab runs a compiler.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm.auto import tqdm

__all__ = [
    "CFLAGS",
    "LDFLAGS",
    "BuildError",
    "compile_sources",
    "link",
    "toolchain_env",
    "zig_command",
    "zig_version",
]

#: Flags for every ``.c`` and ``.S`` file (``zig cc``). ``-mcpu=i686``: zig's
#: default x86 CPU is pentium4, and -O2 would then emit SSE2 instructions.
CFLAGS: tuple[str, ...] = (
    "-target",
    "x86-freestanding-none",
    "-mcpu=i686",
    "-ffreestanding",
    "-nostdlib",
    "-fno-pic",
    "-fno-pie",
    "-fno-stack-protector",
    "-fno-sanitize=undefined",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-O2",
    "-g0",
    "-fdebug-compilation-dir=.",
    "-Wall",
    "-Werror",
)

#: Flags for ``ld.lld``, called directly: ``zig cc`` as a linker adds
#: ``--gc-sections``, an entry and a stack size of its own.
LDFLAGS: tuple[str, ...] = (
    "-m",
    "elf_i386",
    "-static",
    "--build-id=none",
    "--no-undefined",
)

# Generous: a cold first compile may have to populate zig's cache.
_TIMEOUT_S = 600


class BuildError(RuntimeError):
    """A guest could not be built.

    ``str(error)`` is meant to be shown to a student as is: it names the file
    and carries the compiler's or linker's own messages. ``command`` and
    ``output`` hold the raw command line and tool output when a tool failed.
    """

    def __init__(self, message: str, *, command: Sequence[str] = (), output: str = "") -> None:
        super().__init__(message)
        self.command = tuple(command)
        self.output = output


@functools.cache
def zig_command() -> tuple[str, ...]:
    """Return the argv prefix that runs zig.

    The ``zig`` binary inside the installed ``ziglang`` package is called
    directly, which saves ~18 ms of Python start-up per call; if it cannot be
    found, fall back to ``python -m ziglang``.
    """
    try:
        import ziglang
    except ImportError as exc:
        raise BuildError(
            "the 'ziglang' package is not installed; it provides the guest compiler "
            "(pip install ziglang==0.17.1)"
        ) from exc
    package_dir = Path(ziglang.__file__).resolve().parent
    exe = package_dir / ("zig.exe" if os.name == "nt" else "zig")
    if exe.is_file() and os.access(exe, os.X_OK):
        return (str(exe),)
    return (sys.executable, "-m", "ziglang")


@functools.cache
def zig_version() -> str:
    """Return the toolchain's version string, for the cache key.

    Read from the package metadata, so a cache hit starts no process; only if
    that is missing is ``zig version`` asked.
    """
    try:
        return "ziglang " + importlib.metadata.version("ziglang")
    except importlib.metadata.PackageNotFoundError:
        result = _run([*zig_command(), "version"], cwd=Path.cwd(), env=None, what="zig version")
        return "zig " + result.strip()


def toolchain_env(cache_root: Path) -> dict[str, str]:
    """Return the environment for zig: its caches live inside xenlab's cache."""
    zig_cache = cache_root / "zig"
    env = dict(os.environ)
    env["ZIG_GLOBAL_CACHE_DIR"] = str(zig_cache)
    env["ZIG_LOCAL_CACHE_DIR"] = str(zig_cache)
    return env


def compile_sources(
    jobs: Sequence[tuple[str, str]],
    *,
    cwd: Path,
    extra_flags: Sequence[str],
    env: Mapping[str, str],
    progress_label: str = "compiling",
) -> None:
    """Compile each ``(source, object)`` pair, paths relative to ``cwd``.

    Compiles run in parallel (they are separate processes); if any fail, the
    first failure in ``jobs`` order is raised, so the error is deterministic.
    """
    if not jobs:
        return
    # Absolute paths would otherwise leak into debug info and __FILE__.
    flags = [*CFLAGS, f"-ffile-prefix-map={cwd}=.", *extra_flags]

    def one(job: tuple[str, str]) -> BuildError | None:
        src, obj = job
        (cwd / obj).parent.mkdir(parents=True, exist_ok=True)
        try:
            _run(
                [*zig_command(), "cc", *flags, "-c", src, "-o", obj],
                cwd=cwd,
                env=env,
                what=f"compiling {src}",
            )
        except BuildError as exc:
            return exc
        return None

    workers = min(len(jobs), os.cpu_count() or 1)
    # A first build takes a second or more (zig fills its cache): show progress — a widget
    # in a notebook, a text bar on a terminal, nothing with TQDM_DISABLE=1.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        errors = list(
            tqdm(
                pool.map(one, jobs), total=len(jobs), desc=progress_label, unit="file", leave=False
            )
        )
    for error in errors:
        if error is not None:
            raise error


def link(
    objects: Sequence[str], *, script: str, output: str, cwd: Path, env: Mapping[str, str]
) -> None:
    """Link ``objects`` with the linker script ``script`` into ``output`` (relative to ``cwd``)."""
    _run(
        [*zig_command(), "ld.lld", *LDFLAGS, "-T", script, *objects, "-o", output],
        cwd=cwd,
        env=env,
        what=f"linking {output} with {script}",
    )


def _run(cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None, what: str) -> str:
    """Run one tool; return its stdout or raise BuildError with its messages."""
    try:
        proc = subprocess.run(
            list(cmd),
            cwd=cwd,
            env=None if env is None else dict(env),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"{what} failed: {exc}", command=cmd) from None
    if proc.returncode != 0:
        output = (proc.stderr + proc.stdout).strip()
        raise BuildError(
            f"{what} failed (exit status {proc.returncode}):\n{output}", command=cmd, output=output
        )
    return proc.stdout
