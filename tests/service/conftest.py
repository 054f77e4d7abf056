"""The service over the pre-submission tests' SYNTHETIC world, served by uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import polars as pl
import pytest
from service_helpers import TOKEN, served, service_settings, world_fixtures


@pytest.fixture(scope="session")
def service_world(tmp_path_factory: pytest.TempPathFactory):
    """A loaded SYNTHETIC world with a trained champion and held-out unsent claims."""
    return world_fixtures.build_world(tmp_path_factory.mktemp("service_world"))


@pytest.fixture(scope="session")
def service_url(service_world) -> Iterator[str]:
    """The service over the shared world, requiring the bearer token `TOKEN`."""
    with served(service_settings(service_world, token=TOKEN)) as url:
        yield url


@pytest.fixture(scope="session")
def client(service_url) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=service_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    ) as http:
        yield http


@pytest.fixture(scope="session")
def unsent(service_world) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The held-out claims and notes as the strings a CSV gives."""
    folder = service_world.unsent
    claims = pl.read_csv(folder / "claims" / "unsent_claims.csv", infer_schema=False)
    notes_file = folder / "notes" / "unsent_notes.csv"
    notes = pl.read_csv(notes_file, infer_schema=False) if notes_file.exists() else None
    return claims, notes
