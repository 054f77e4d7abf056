"""Backfilling one service month of monthly_denial_kpis: only that month, idempotent, concurrent."""

import multiprocessing
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from pipelines.defs.kpis.assets import monthly_denial_kpis, service_month_partitions


def _kpi_rows(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(
            """
            SELECT service_month::VARCHAR, payer_id, lines, adjudicated_lines, pending_lines,
                   denied_lines, round(denial_rate_count, 4), adjudicated_charge::DOUBLE,
                   denied_charge::DOUBLE, round(denial_rate_dollars, 4)
            FROM monthly_denial_kpis ORDER BY service_month, payer_id
            """
        ).fetchall()


def _materialize(path: Path, month: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [monthly_denial_kpis],
        partition_key=month,
        resources={"warehouse": DuckDBResource(database=str(path))},
    )


MARCH = [
    # March 2024: 5 lines of 64520 (77003 excluded), C4 pending; P_A 1 of 3 denied, P_B 1 of 1.
    ("2024-03-01", "ALL", 5, 4, 1, 2, 0.5, 1700.0, 800.0, round(800 / 1700, 4)),
    ("2024-03-01", "P_A", 3, 3, 0, 1, round(1 / 3, 4), 1400.0, 500.0, round(500 / 1400, 4)),
    ("2024-03-01", "P_B", 2, 1, 1, 1, 1.0, 300.0, 300.0, 1.0),
]


def test_one_month_backfill_writes_only_that_month_and_is_idempotent(warehouse_file: Path) -> None:
    result = _materialize(warehouse_file, "2024-03-01")
    assert result.success
    assert _kpi_rows(warehouse_file) == MARCH
    meta = result.asset_materializations_for_node("monthly_denial_kpis")[0].metadata
    assert meta["dagster/row_count"].value == 3
    assert meta["denied_lines"].value == 2
    assert meta["denial_rate_count"].value == pytest.approx(0.5)

    # Rerun after a late remit: the month's rows are replaced, not duplicated.
    with duckdb.connect(str(warehouse_file)) as conn:
        conn.execute(
            "UPDATE line_outcomes SET status = 'denied', denied = true "
            "WHERE claim_id = 'C4' AND line_number = 1"
        )
    assert _materialize(warehouse_file, "2024-03-01").success
    rows = _kpi_rows(warehouse_file)
    assert len(rows) == 3
    assert rows[0][:6] == ("2024-03-01", "ALL", 5, 5, 0, 3)

    # A second month leaves March untouched.
    assert _materialize(warehouse_file, "2024-04-01").success
    rows = _kpi_rows(warehouse_file)
    assert [r[:2] for r in rows] == [
        ("2024-03-01", "ALL"),
        ("2024-03-01", "P_A"),
        ("2024-03-01", "P_B"),
        ("2024-04-01", "ALL"),
        ("2024-04-01", "P_A"),
        ("2024-04-01", "P_B"),
    ]
    assert rows[3][2:6] == (2, 2, 0, 1)
    # A payer with adjudicated lines and no denials has rate 0 (not null) by count and dollars.
    assert rows[5][1:] == ("P_B", 1, 1, 0, 0, 0.0, 350.0, 0.0, 0.0)


def test_month_without_lines_writes_no_rows(warehouse_file: Path) -> None:
    assert _materialize(warehouse_file, "2025-06-01").success
    assert _kpi_rows(warehouse_file) == []


def test_partitions_are_service_months_from_2024() -> None:
    keys = service_month_partitions.get_partition_keys()
    assert keys[0] == "2024-01-01"
    assert all(k.endswith("-01") for k in keys)


def _materialize_in_process(path: str, month: str, marker: str, queue) -> None:
    Path(marker).touch()
    try:
        ok = _materialize(Path(path), month).success
        queue.put((month, ok, "", time.time()))
    except Exception as exc:  # reported back to the test, which asserts on it
        queue.put((month, False, f"{type(exc).__name__}: {exc}", time.time()))


def test_two_runs_started_together_leave_the_warehouse_consistent(
    warehouse_file: Path, tmp_path: Path
) -> None:
    """Two processes (as two Dagster runs) write while a third writer holds the DuckDB file."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    markers = [tmp_path / f"started_{m}" for m in ("2024-03-01", "2024-04-01")]
    holder = duckdb.connect(str(warehouse_file))  # a running writer holds the file lock
    procs = [
        ctx.Process(
            target=_materialize_in_process, args=(str(warehouse_file), m, str(marker), queue)
        )
        for m, marker in zip(("2024-03-01", "2024-04-01"), markers, strict=True)
    ]
    for p in procs:
        p.start()
    deadline = time.monotonic() + 60
    while not all(m.exists() for m in markers) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # both are now inside materialize, retrying the connect
    released_at = time.time()
    holder.close()
    for p in procs:
        p.join(timeout=120)
    outcomes = sorted(queue.get(timeout=5) for _ in procs)
    # DuckDB takes an exclusive file lock per writing process; DuckDBResource retries the
    # connect with exponential backoff (~100 s in total), so both runs waited and then succeeded.
    assert [(m, ok, err) for m, ok, err, _ in outcomes] == [
        ("2024-03-01", True, ""),
        ("2024-04-01", True, ""),
    ]
    assert all(finished > released_at for _, _, _, finished in outcomes)
    rows = _kpi_rows(warehouse_file)
    assert [r for r in rows if r[0] == "2024-03-01"] == MARCH
    assert len([r for r in rows if r[0] == "2024-04-01"]) == 3
