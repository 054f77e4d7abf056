"""A PostgreSQL server for the session (CI's, or one started here) for the daemon test."""

from collections.abc import Iterator

import pytest

from tests.practices.postgres_server import start_server


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    server = start_server()
    try:
        yield server.url
    finally:
        server.stop()
