"""Which snapshot `denial-risk dashboard` serves when no run has published one."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from dashboards.snapshot import snapshot_for_serving


def test_nothing_to_serve_without_a_snapshot_or_a_warehouse(tmp_path: Path) -> None:
    assert snapshot_for_serving(tmp_path / "snapshot.duckdb", tmp_path / "wh.duckdb") is None
    assert not (tmp_path / "snapshot.duckdb").exists()


def test_a_published_snapshot_is_served_as_it_is(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.duckdb"
    with duckdb.connect(str(snapshot)) as con:
        con.execute("create table marker as select 42 as answer")
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:
        con.execute("create table staged_claim_lines (claim_id varchar)")
    assert snapshot_for_serving(snapshot, tmp_path / "wh.duckdb") == snapshot
    with duckdb.connect(str(snapshot), read_only=True) as con:
        assert con.execute("select answer from marker").fetchall() == [(42,)]


def test_a_warehouse_held_by_a_writer_is_reported_not_waited_for(tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    duckdb.connect(str(warehouse)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); "
            "time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        started = time.monotonic()
        with pytest.raises(duckdb.IOException):
            snapshot_for_serving(tmp_path / "snapshot.duckdb", warehouse)
        assert time.monotonic() - started < 30
        assert not list(tmp_path.glob("*.building*")), "a failed publish leaves no partial file"
        assert not (tmp_path / "snapshot.duckdb").exists()
    finally:
        holder.kill()
        holder.wait()
