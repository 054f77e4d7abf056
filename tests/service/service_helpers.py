"""Serving the real app in tests: the token, uvicorn on loopback, settings over the shared world."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
