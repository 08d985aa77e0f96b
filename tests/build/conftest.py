"""Fixtures for the guest toolchain tests.

One cache folder is shared by the whole session, so each built-in guest is
compiled once however many tests look at it. Tests that need clean builds
make their own cache folders under tmp_path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from xenlab.build import build_guest, list_guests

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache root shared by the session's builds."""
    return tmp_path_factory.mktemp("xenlab-cache")


@pytest.fixture(scope="session")
def built_guests(session_cache: Path) -> dict[str, Path]:
    """Every built-in guest, built once: name -> ELF path."""
    return {
        guest.name: build_guest(guest.name, cache_root=session_cache) for guest in list_guests()
    }


@pytest.fixture
def make_guest(tmp_path: Path) -> Callable[[str, dict[str, str]], Path]:
    """Return make(name, {filename: text}) -> a new guest folder under tmp_path."""

    def make(name: str, files: dict[str, str]) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        for filename, text in files.items():
            (folder / filename).write_text(text)
        return folder

    return make
