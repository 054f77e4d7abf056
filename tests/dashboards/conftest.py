"""Fixtures: a small warehouse with every documented table, its published snapshot, a live app."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards.snapshot import publish_snapshot

sys.path.insert(0, str(Path(__file__).parent))
from browser_helpers import serve_dashboard  # noqa: E402
from dashboard_world import build_warehouse  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboards"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with staged lines, outcomes, modelling table and model tables (600 lines)."""
    return build_warehouse(tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb")


@pytest.fixture(scope="session")
def snapshot_file(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse published as a snapshot."""
    return publish_snapshot(warehouse, tmp_path_factory.mktemp("published") / "snapshot.duckdb")


@pytest.fixture(scope="session")
def bare_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse that has only staged claim lines (no outcomes, no features, no model)."""
    import duckdb

    folder = tmp_path_factory.mktemp("bare")
    full = build_warehouse(folder / "full.duckdb", n_lines=60, with_oracle=False)
    bare = folder / "bare.duckdb"
    with duckdb.connect(str(bare)) as con:
        con.execute(f"attach '{full}' as full_world (read_only)")
        con.execute(
            "create table staged_claim_lines as select * from full_world.staged_claim_lines"
        )
    return bare


@pytest.fixture(scope="session")
def dashboard_url(snapshot_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Dash app on a free 127.0.0.1 port, in a subprocess stopped at the end of the session."""
    with serve_dashboard(snapshot_file, tmp_path_factory.mktemp("logs") / "app.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright."""
    if not Path(CHROMIUM).exists():
        # Fail, not skip: a green suite must mean the dashboards were seen in a real browser.
        pytest.fail(
            f"{CHROMIUM} is not installed: run the README's first command (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots kept as test artifacts (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
