"""The service over the pre-submission tests' SYNTHETIC world, served by uvicorn on loopback."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import polars as pl
import pytest
import uvicorn

from service.app import create_app
from service.settings import ServiceSettings

TOKEN = "test-token-0123456789"

# The world builder lives with the pre-submission tests (one synthetic world for both suites).
_spec = importlib.util.spec_from_file_location(
    "presubmission_world_fixtures", Path(__file__).parents[1] / "presubmission" / "conftest.py"
)
world_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = world_fixtures
_spec.loader.exec_module(world_fixtures)


@contextmanager
def served(settings: ServiceSettings) -> Iterator[str]:
    """The real app under uvicorn on 127.0.0.1 with an ephemeral port; yields its base URL."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, access_log=False, log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="service-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def service_settings(world, **overrides) -> ServiceSettings:
    return ServiceSettings(
        warehouse=world.settings.warehouse, models_dir=world.settings.models, **overrides
    )


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
