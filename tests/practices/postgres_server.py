"""A real PostgreSQL server on a temporary folder, for tests of the Postgres-backed instance.

`.ci/run` starts one and exports DENIAL_RISK_TEST_POSTGRES_URL; without it, `postgres_url()` starts
one the same way (initdb + pg_ctl, as the `postgres` user when we are root, on a free loopback port)
and `stop()` shuts it down.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg2

URL_ENV = "DENIAL_RISK_TEST_POSTGRES_URL"
PG_BIN_DIRS = (
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
)


def _pg_bin(tool: str) -> str:
    for folder in PG_BIN_DIRS:
        if Path(folder, tool).exists():
            return str(Path(folder, tool))
    found = shutil.which(tool)
    if found is None:
        raise RuntimeError(
            f"PostgreSQL's {tool} is not installed: apt-get install -y postgresql "
            f"(or export {URL_ENV}=postgresql://user@host:port/db)"
        )
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root (CI runs as root).
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PostgresServer:
    url: str
    folder: Path | None = None

    def stop(self) -> None:
        if self.folder is None:
            return
        subprocess.run(
            _as_postgres(
                [_pg_bin("pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "stop"]
            ),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start_server() -> PostgresServer:
    """DENIAL_RISK_TEST_POSTGRES_URL's server, or a new one on a temporary folder."""
    if os.environ.get(URL_ENV):
        return PostgresServer(url=os.environ[URL_ENV])
    folder = Path(tempfile.mkdtemp(prefix="denial-risk-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    data = folder / "data"
    subprocess.run(
        _as_postgres([_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder}"
    subprocess.run(
        _as_postgres(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    return PostgresServer(url=f"postgresql://postgres@127.0.0.1:{port}/postgres", folder=folder)


def fresh_database(server_url: str) -> str:
    """URL of a new, empty database on the server (each test gets its own history)."""
    name = f"dagster_{uuid.uuid4().hex[:12]}"
    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def dagster_postgres_url(url: str) -> str:
    """The libpq URL with the driver SQLAlchemy must use (psycopg2, shipped with dagster-postgres)."""
    return url.replace("postgresql://", "postgresql+psycopg2://", 1)
