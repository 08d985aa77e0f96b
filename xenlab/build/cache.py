"""Content-keyed cache of built guest images.

An image is stored under a key computed from everything that can change its
bytes: the toolchain version, the exact flag lists and every input file
(relative path and contents). Same key, same bytes (the toolchain is
reproducible), so a hit needs no compiler at all and one cache can be shared
by pytest workers, notebooks and many students on one JupyterHub home.

Who calls what: :func:`xenlab.build.guests.build_guest` computes
:func:`cache_key`, looks for :func:`image_path`, and on a miss builds in a
directory from :func:`make_build_dir` and moves the result in with
:func:`publish`. Publishing is an atomic ``os.replace``: a reader sees no
image or a whole one, and two concurrent builds of the same key simply
replace identical bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = [
    "CACHE_ENV",
    "cache_key",
    "default_cache_root",
    "image_path",
    "make_build_dir",
    "publish",
]

#: Environment variable that moves the cache (default ``~/.cache/xenlab``).
CACHE_ENV = "XENLAB_CACHE"

# Bump when the build recipe changes in a way the inputs and flags don't show.
_RECIPE = b"xenlab guest build 1"


def default_cache_root() -> Path:
    """Return ``$XENLAB_CACHE`` if set, else ``~/.cache/xenlab``."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "xenlab"


def cache_key(
    *,
    tool_version: str,
    flag_lists: Iterable[Sequence[str]],
    inputs: Iterable[tuple[str, bytes]],
) -> str:
    """Return the sha256 hex digest that names one build.

    ``inputs`` are ``(relative path, contents)`` pairs; they are sorted here,
    so the order in which files were found does not matter. Every field is
    length-prefixed, so no two different builds can hash the same bytes.
    """
    h = hashlib.sha256()

    def field(data: bytes) -> None:
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)

    field(_RECIPE)
    field(tool_version.encode())
    for flags in flag_lists:
        field(b"flags")
        for flag in flags:
            field(flag.encode())
    for path, data in sorted(inputs):
        field(path.encode())
        field(data)
    return h.hexdigest()


def image_path(cache_root: Path, name: str, key: str) -> Path:
    """Return where the image of guest ``name`` with ``key`` lives (or will)."""
    return cache_root / "guests" / f"{name}-{key[:16]}" / "kernel.elf"


def make_build_dir(cache_root: Path, name: str) -> tempfile.TemporaryDirectory[str]:
    """Return a fresh private build directory inside the cache.

    It is on the same file system as the images, so :func:`publish` can
    rename instead of copy; it is removed when the context exits.
    """
    tmp_root = cache_root / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=f"{name}-", dir=tmp_root, ignore_cleanup_errors=True)


def publish(built: Path, dest: Path) -> None:
    """Atomically move the finished file ``built`` to ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(built, dest)
