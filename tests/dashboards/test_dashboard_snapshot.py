"""Publishing the snapshot: contents, no patient identifiers, atomic replacement, missing tables."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dashboards.drift import MIN_LINES_FOR_ALERT
from dashboards.snapshot import (
    PATIENT_COLUMNS,
    publish_snapshot,
    read_frame,
    read_table,
    snapshot_tables,
)


def _columns(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            r[0]
            for r in con.execute("select column_name from information_schema.columns").fetchall()
        }


def test_snapshot_has_the_dashboard_tables(snapshot_file: Path, warehouse: Path):
    tables = snapshot_tables(snapshot_file)
    assert {
        "denial_lines",
        "work_queue",
        "realized_scores",
        "feature_drift",
        "score_drift",
        "model_validation_predictions",
        "oracle_evaluation",
        "snapshot_meta",
    } <= tables
    with duckdb.connect(str(warehouse), read_only=True) as con:
        n_lines = con.execute(
            "select count(*) from staged_claim_lines where cpt_code = '64520'"
        ).fetchone()[0]
        n_pending = con.execute("select count(*) from risk_scores").fetchone()[0]
        n_denied = con.execute("select count(*) from line_outcomes where denied").fetchone()[0]
    lines = read_table(snapshot_file, "denial_lines")
    assert lines.height == n_lines
    assert int(lines["denied"].sum()) == n_denied
    assert read_table(snapshot_file, "work_queue").height == n_pending
    meta = read_table(snapshot_file, "snapshot_meta")
    # The stand-in warehouse has no GX results table; everything else is published.
    assert meta["tables_missing"][0] == "validation_results"


def test_no_patient_identifier_reaches_the_snapshot(snapshot_file: Path):
    assert not (_columns(snapshot_file) & PATIENT_COLUMNS)


def test_publish_from_the_writers_connection(warehouse: Path, tmp_path: Path):
    """The asset publishes through the run's own warehouse connection."""
    copy = tmp_path / "w.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    with duckdb.connect(str(copy)) as con:
        target = publish_snapshot(con, tmp_path / "published" / "snapshot.duckdb")
        con.execute("select 1").fetchall()
    assert "denial_lines" in snapshot_tables(target)
    assert not list(target.parent.glob(".*building*"))


def test_missing_upstream_tables_are_tolerated(tmp_path: Path):
    source = tmp_path / "w.duckdb"
    with duckdb.connect(str(source)) as con:
        con.execute(
            "create table staged_claim_lines as select 'C1' claim_id, 1 line_number, 'pk' patient_key, "
            "'P1' payer_id, 'Payer' payer_name, 'commercial' plan_type, '1' rendering_npi, "
            "'11' place_of_service, date '2025-01-02' service_date, date '2025-01-03' submission_date, "
            "'64520' cpt_code, 1.0 units, 450.00::decimal(12,2) charge_amount"
        )
    target = publish_snapshot(source, tmp_path / "snapshot.duckdb")
    tables = snapshot_tables(target)
    assert tables == {"denial_lines", "snapshot_meta"}
    missing = read_table(target, "snapshot_meta")["tables_missing"][0].split(",")
    assert "oracle_evaluation" in missing and "work_queue" in missing
    assert read_table(target, "risk_scores") is None
    assert "patient_key" not in _columns(target)


def test_failed_publish_keeps_the_previous_snapshot(snapshot_file: Path, tmp_path: Path):
    target = tmp_path / "snapshot.duckdb"
    target.write_bytes(snapshot_file.read_bytes())
    before = read_frame(target, "select count(*) n from denial_lines")["n"][0]
    broken = tmp_path / "broken.duckdb"
    with duckdb.connect(str(broken)) as con:
        # A staged_claim_lines without its contract columns fails the build midway.
        con.execute("create table staged_claim_lines as select 'x' as claim_id, 1 as line_number")
    with pytest.raises(ValueError, match="staged_claim_lines lacks"):
        publish_snapshot(broken, target)
    assert read_frame(target, "select count(*) n from denial_lines")["n"][0] == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.duckdb", "snapshot.duckdb"]


def test_readers_never_fail_while_snapshots_are_replaced(warehouse: Path, tmp_path: Path):
    """Short-lived read-only readers keep working while runs publish (os.replace)."""
    target = publish_snapshot(warehouse, tmp_path / "snapshot.duckdb")
    errors: list[Exception] = []
    reads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            try:
                read_frame(target, "select count(*) from denial_lines")
                reads += 1
            except Exception as error:  # collected and asserted below
                errors.append(error)

    thread = threading.Thread(target=reader)
    thread.start()
    # A reader that holds a connection open across a publish still sees its old file.
    held = duckdb.connect(str(target), read_only=True)
    try:
        for _ in range(3):
            publish_snapshot(warehouse, target)
        assert held.execute("select count(*) from denial_lines").fetchone()[0] > 0
    finally:
        held.close()
        stop.set()
        thread.join(timeout=30)
    assert errors == []
    assert reads > 0


def test_feature_drift_follows_submission_months_and_the_payer_mix(warehouse: Path, tmp_path: Path):
    """Drift is by submission month (as the model splits) and watches the payer mix itself.

    By service month the newest month held only the lines already submitted (the quick ones),
    which looked like a shift of submission lags on every run; the payer-level running rates
    moved a little every month and kept PSI >= 0.25 without any change in the claims.
    """
    source = tmp_path / "w.duckdb"
    source.write_bytes(warehouse.read_bytes())
    with duckdb.connect(str(source)) as con:
        # The latest submission month with enough lines for an alert (the last may be partial).
        newest = con.execute(
            "select max(m) from (select date_trunc('month', submission_date) m from "
            f"modelling_table group by m having count(*) >= {MIN_LINES_FOR_ALERT})"
        ).fetchall()[0][0]
        before = con.execute(
            "select count(*) from modelling_table where date_trunc('month', submission_date) = ?",
            [newest],
        ).fetchall()[0][0]
        # Half of the newest submission month's lines go to a payer never seen before.
        con.execute(
            "update modelling_table set payer_id = 'NEW-PAYER' "
            "where date_trunc('month', submission_date) = ? and hash(claim_id) % 2 = 0",
            [newest],
        )
    drift = read_table(publish_snapshot(source, tmp_path / "snapshot.duckdb"), "feature_drift")
    last = drift.filter(pl.col("month") == pl.lit(newest).cast(pl.Date))
    alerts = dict(zip(last["feature"], last["alert"], strict=True))
    assert last["n"][0] == before
    assert alerts["payer_id"] == "major"
    assert {"payer_code_denial_rate", "provider_denial_rate"}.isdisjoint(alerts)


def test_freshness_facts_and_filters_text(snapshot_file):
    from dashboards.components import filters_text, freshness_facts

    facts = freshness_facts(snapshot_file)
    assert facts["Newest service date"] == "2025-12-20"
    assert facts["Newest adjudication"] == "2025-12-20"
    assert facts["Model"] == "v20260101T000000 (champion)"
    assert facts["Last run"].endswith("UTC")
    assert filters_text({"Payer": None, "Service from": None}) == "Filters on: none (every line)"
    assert (
        filters_text({"Payer": ["MCR01", "AET03"], "Service from": "2025-03-01T00:00:00"})
        == "Filters on: Payer: MCR01, AET03; Service from: 2025-03-01"
    )


def test_work_queue_carries_line_context_without_patient_columns(snapshot_file):
    queue = read_table(snapshot_file, "work_queue")
    assert {
        "modifier_1",
        "units",
        "primary_diagnosis",
        "payer_name",
        "days_to_filing_limit",
    } <= set(queue.columns)
    assert not set(queue.columns) & {"patient_key", "patient_age", "patient_sex", "encounter_id"}
    aetna = queue.filter(pl.col("payer_id") == "AET03").row(0, named=True)
    # 90-day limit counted from the service date to the scoring day (2026-01-05).
    assert aetna["days_to_filing_limit"] == 90 - (date(2026, 1, 5) - aetna["service_date"]).days
    assert queue.filter(pl.col("payer_id") == "MCD04")["days_to_filing_limit"].null_count() > 0
