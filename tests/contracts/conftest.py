"""Fixtures of the contract tests: one GX import per session and a clean warehouse file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from contract_world import build_world


@pytest.fixture(scope="session")
def gx_module():
    """One great-expectations import per test session (it takes ~6 s)."""
    import great_expectations

    return great_expectations


@pytest.fixture
def warehouse(tmp_path: Path, gx_module) -> Iterator[Path]:
    yield build_world(tmp_path / "warehouse.duckdb")
