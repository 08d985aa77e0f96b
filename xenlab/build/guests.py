"""The catalogue of guest kernels, and building one into an ELF image.

A guest is a folder of C and assembly sources (``*.c``, ``*.S``, in it or
in its subfolders, which can include the guest's headers by name). Every guest is linked with
the shared runtime in ``guests/lib`` (entry code, ELF notes, printk, ...)
and compiled against ``guests/include`` (Xen's public ABI in C). The
built-in guests are the subfolders of ``guests/`` that have a README.md;
its first line, ``# <name> — <description>``, describes the guest.

Who calls what: the toolstack and the labs call :func:`build_guest` to get
the path of a kernel ELF for the domain builder, and :func:`list_guests` to
offer choices. :func:`build_guest` hashes the inputs (:mod:`.cache`), and
only on a miss copies them into a private build directory and runs the
toolchain there (:mod:`.toolchain`). Compiling the copy, not the original,
means the image is built from exactly the bytes that were hashed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .cache import cache_key, default_cache_root, image_path, make_build_dir, publish
from .toolchain import (
    CFLAGS,
    LDFLAGS,
    BuildError,
    compile_sources,
    link,
    toolchain_env,
    zig_version,
)

__all__ = ["GUESTS_DIR", "GUESTS_ENV", "GuestInfo", "build_guest", "guests_dir", "list_guests"]


def _default_guests_dir() -> Path:
    """The copy a wheel carries as ``xenlab/_guests`` (pyproject's force-include),
    else the repository's ``guests/`` (a checkout or an editable install)."""
    package = Path(__file__).resolve().parents[1]
    wheel = package / "_guests"
    return wheel if wheel.is_dir() else package.parent / "guests"


#: The built-in guests' folder, with the shared ``include/`` and ``lib/``.
GUESTS_DIR = _default_guests_dir()

#: Environment variable naming another guests folder (with include/ and lib/).
GUESTS_ENV = "XENLAB_GUESTS"

_SHARED = ("include", "lib")  # folders of guests/ that are not guests
_SOURCE_SUFFIXES = (".c", ".S")
_LINKER_SCRIPT = "guest.ld"  # in lib/, or in a guest folder to override it
_INCLUDE_FLAGS = ("-Iinclude",)  # relative to the build directory


@dataclass(frozen=True)
class GuestInfo:
    """One built-in guest: its name, one-line description and source folder."""

    name: str
    description: str
    path: Path


def guests_dir() -> Path:
    """Return the guests folder: ``$XENLAB_GUESTS`` if set, else :data:`GUESTS_DIR`."""
    override = os.environ.get(GUESTS_ENV)
    return Path(override).expanduser().resolve() if override else GUESTS_DIR


def list_guests() -> list[GuestInfo]:
    """Return the built-in guests, sorted by name."""
    root = guests_dir()
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        readme = folder / "README.md"
        if folder.name in _SHARED or folder.name.startswith(".") or not readme.is_file():
            continue
        found.append(GuestInfo(folder.name, _describe(folder.name, readme), folder))
    return found


def build_guest(
    name_or_dir: str | Path, *, cache_root: Path | None = None, force: bool = False
) -> Path:
    """Build a guest kernel (or find it in the cache) and return the ELF's path.

    ``name_or_dir`` is a built-in guest's name (``"hello"``) or a folder laid
    out like one; a name wins over a same-named folder in the working
    directory. A ``guest.ld`` in the folder replaces ``guests/lib/guest.ld``.
    ``cache_root`` defaults to :func:`~xenlab.build.cache.default_cache_root`;
    ``force`` rebuilds even on a cache hit. Raises :class:`BuildError` for an
    unknown guest or a failed compile or link.
    """
    name, folder = _resolve(name_or_dir)
    root = guests_dir()
    cache = (cache_root or default_cache_root()).expanduser().resolve()

    stage = f"{name}-guest" if name in (*_SHARED, "obj") else name
    inputs: dict[str, bytes] = {}
    for shared in _SHARED:
        inputs.update(_read_tree(root / shared, shared))
    inputs.update(_read_tree(folder, stage))

    script = f"{stage}/{_LINKER_SCRIPT}"
    if script not in inputs:
        script = f"lib/{_LINKER_SCRIPT}"
    # The shared runtime's top-level sources, and all of the guest's, subfolders included
    # (xenolite keeps its architecture-dependent code in arch/xen/, as Linux did).
    sources = [
        path
        for path in sorted(inputs)
        if path.endswith(_SOURCE_SUFFIXES)
        and ((path.startswith("lib/") and path.count("/") == 1) or path.startswith(f"{stage}/"))
    ]
    # A guest's own headers are found from any of its subfolders.
    guest_flags = (*_INCLUDE_FLAGS, "-I", stage)
    if not any(path.startswith(f"{stage}/") for path in sources):
        raise BuildError(f"guest {name!r} ({folder}) has no .c or .S files")

    key = cache_key(
        tool_version=zig_version(),
        flag_lists=[CFLAGS, guest_flags, LDFLAGS, ("-T", script)],
        inputs=inputs.items(),
    )
    dest = image_path(cache, name, key)
    if dest.is_file() and not force:
        return dest

    with make_build_dir(cache, name) as tmp:
        work = Path(tmp)
        for path, data in inputs.items():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).write_bytes(data)
        jobs = [(src, "obj/" + src.replace("/", "__") + ".o") for src in sources]
        env = toolchain_env(cache)
        compile_sources(
            jobs, cwd=work, extra_flags=guest_flags, env=env, progress_label=f"building {name}"
        )
        link([obj for _, obj in jobs], script=script, output="kernel.elf", cwd=work, env=env)
        publish(work / "kernel.elf", dest)
    return dest


def _resolve(name_or_dir: str | Path) -> tuple[str, Path]:
    """Map a guest name or folder to (name, folder)."""
    if isinstance(name_or_dir, str):
        for guest in list_guests():
            if guest.name == name_or_dir:
                return guest.name, guest.path
    folder = Path(name_or_dir).expanduser()
    if folder.is_dir():
        folder = folder.resolve()
        return re.sub(r"[^A-Za-z0-9._-]", "_", folder.name) or "guest", folder
    known = ", ".join(g.name for g in list_guests()) or "(none)"
    raise BuildError(
        f"unknown guest {str(name_or_dir)!r}: not a built-in guest ({known}) and not a folder"
    )


def _read_tree(folder: Path, prefix: str) -> dict[str, bytes]:
    """Return {prefix/relative path: bytes} for the files under folder.

    Hidden files and folders (editor swap files, .git) and __pycache__ are
    skipped: they cannot affect the image and would only defeat the cache.
    """
    files: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        rel = Path(dirpath).relative_to(folder)
        for filename in sorted(filenames):
            if filename.startswith("."):
                continue
            key = (Path(prefix) / rel / filename).as_posix()
            files[key] = (Path(dirpath) / filename).read_bytes()
    return files


def _describe(name: str, readme: Path) -> str:
    """First line of a guest's README.md without '# ' and the '<name> — ' prefix."""
    lines = readme.read_text(encoding="utf-8", errors="replace").splitlines()
    first = lines[0].lstrip("#").strip() if lines else ""
    for dash in (" — ", " - ", ": "):
        if first.startswith(name + dash):
            return first[len(name) + len(dash) :].strip()
    return first
