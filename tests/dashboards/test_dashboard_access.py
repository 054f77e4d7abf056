"""Dashboard access over real HTTP: off loopback only with credentials, every route guarded."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from http_helpers import app_for, download_request, queue_snapshot, served
from typer.testing import CliRunner
from werkzeug.security import generate_password_hash

from dashboards.auth import TOKEN_ENV, USERS_FILE_ENV
from pipelines.cli import app

REPO = Path(__file__).resolve().parents[2]
TOKEN = "correct-horse-battery-staple-42"
ROUTES = ("/", "/work-queue", "/_dash-layout", "/_dash-dependencies")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _dashboard(snapshot: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """`python -m dashboards.app` in a subprocess on 127.0.0.1 (a free port), with `env` set."""
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if k not in (TOKEN_ENV, USERS_FILE_ENV)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dashboards.app", str(snapshot), "--port", str(port)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**clean, **env, "PYTHONUNBUFFERED": "1"},
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        try:
            while True:
                try:
                    httpx.get(url + "/", timeout=2)
                    break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"dashboard did not start: {log.read_text()}") from None
                    time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return queue_snapshot(
        tmp_path_factory.mktemp("snap") / "snapshot.duckdb", ["CLM-SECRET-QUEUE"], ["PAYER-A"]
    )


def test_off_loopback_the_dashboard_refuses_to_start_without_credentials(
    tmp_path: Path, snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    (tmp_path / "published").mkdir()
    (tmp_path / "published" / "snapshot.duckdb").write_bytes(snapshot.read_bytes())
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(USERS_FILE_ENV, raising=False)
    result = CliRunner().invoke(
        app, ["dashboard", "--warehouse", str(warehouse), "--host", "0.0.0.0"], terminal_width=200
    )
    assert result.exit_code == 2
    assert "refusing to serve the dashboards on 0.0.0.0 without credentials" in result.output
    monkeypatch.setenv(TOKEN_ENV, "short")
    result = CliRunner().invoke(
        app, ["dashboard", "--warehouse", str(warehouse), "--host", "10.1.2.3"], terminal_width=200
    )
    assert result.exit_code == 2 and "at least 16 characters" in result.output


def test_every_route_including_callbacks_requires_the_credentials(
    tmp_path: Path, snapshot: Path
) -> None:
    users = tmp_path / "users"
    users.write_text(f"# analysts\nana:{generate_password_hash('s3cret-pass')}\n")
    env = {TOKEN_ENV: TOKEN, USERS_FILE_ENV: str(users)}
    with _dashboard(snapshot, env, tmp_path / "app.log") as url, httpx.Client() as client:
        assets = [
            line.split('src="')[1].split('"')[0]
            for line in client.get(
                url + "/", headers={"Authorization": f"Bearer {TOKEN}"}
            ).text.split("<script")
            if 'src="' in line
        ]
        assert assets, "the page lists its script bundles"
        for route in (*ROUTES, assets[0]):
            denied = client.get(url + route)
            assert denied.status_code == 401, route
            assert denied.headers["WWW-Authenticate"].startswith("Basic realm=")
            assert client.get(url + route, headers=_basic("x", "wrong-token")).status_code == 401
            assert client.get(url + route, headers={"Authorization": f"Bearer {TOKEN}"}).is_success
            assert client.get(url + route, headers=_basic("anyone", TOKEN)).is_success
            assert client.get(url + route, headers=_basic("ana", "s3cret-pass")).is_success
            assert client.get(url + route, headers=_basic("ana", "nope")).status_code == 401
        callback = url + "/_dash-update-component"
        denied = client.post(callback, json=download_request())
        assert denied.status_code == 401 and "CLM-SECRET-QUEUE" not in denied.text
        allowed = client.post(
            callback, json=download_request(), headers=_basic("ana", "s3cret-pass")
        )
        assert allowed.status_code == 200 and "CLM-SECRET-QUEUE" in allowed.text


def test_on_loopback_without_credentials_it_serves_as_before(snapshot: Path) -> None:
    with served(app_for(snapshot).server) as url:
        assert httpx.get(url + "/").status_code == 200
        assert (
            httpx.post(url + "/_dash-update-component", json=download_request()).status_code == 200
        )
