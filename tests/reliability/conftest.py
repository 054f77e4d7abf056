"""Shared small worlds for the reliability tests (built once per session, copied per test)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bad_landing import world  # noqa: E402


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SYNTHETIC X12 landing folder of about 2,000 claim lines (read-only: copy it first)."""
    return world(tmp_path_factory.mktemp("world") / "landing")
