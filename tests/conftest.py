"""Fixtures shared across the test folders.  (Being here also puts ``tests/`` on
``sys.path``, so test modules can import ``machine_harness``.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from machine_harness import machine_dir

from xenlab.toolstack.machine import Paths


@pytest.fixture
def where() -> Iterator[Paths]:
    """A private machine directory for the machine-process tests (``machine_harness``)."""
    yield from machine_dir()
