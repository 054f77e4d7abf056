"""The modelling_table asset reads staged tables from a real DuckDB file and writes the table back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from models.features.documentation import NOTE_ELEMENTS_VERSION, note_elements
from pipelines.defs.features.assets import modelling_table
from tests.features import feature_frames as staged


def write_staged(path: Path) -> None:
    lines = staged.claim_lines(
        staged.claim_line("C0", service_date=date(2025, 1, 6), patient_key="p0"),
        staged.claim_line("C1"),
        staged.claim_line("C1", 2, cpt_code="77002", modifier_1=None),
    ).collect()
    outcomes = staged.outcomes(staged.outcome("C0", status="denied")).collect()
    # As the load stores notes: with their documentation elements (the text is cleared then).
    notes = note_elements(
        staged.notes(staged.note("N1", "CRPS left foot, LSB at L3 with fluoro.")).collect()
    ).with_columns(
        pl.lit(NOTE_ELEMENTS_VERSION).alias("elements_version"), pl.lit(None).alias("text")
    )
    with duckdb.connect(str(path)) as conn:
        for name, frame in (
            ("staged_claim_lines", lines),
            ("line_outcomes", outcomes),
            ("staged_notes", notes),
        ):
            conn.register("frame", frame)
            conn.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            conn.unregister("frame")


def test_modelling_table_asset_writes_table_and_metadata(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    write_staged(warehouse)
    resources = {"warehouse": DuckDBResource(database=str(warehouse))}
    for _ in range(2):  # idempotent: a rerun replaces the table
        result = dg.materialize([modelling_table], resources=resources)
        assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["dagster/row_count"].value == 2
    assert metadata["labelled_rows"].value == 1 and metadata["pending_rows"].value == 1
    assert metadata["denial_rate"].value == 1.0
    assert metadata["null_share_doc_level"].value == 0.5
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        table = conn.sql("SELECT * FROM modelling_table ORDER BY claim_id").pl()
    assert table.height == 2
    assert table["doc_level"].to_list() == [None, "lumbar"]
    assert table["imaging_77002_same_day"].to_list() == [False, True]
    assert table.schema["service_month"] == pl.Date


def test_a_run_whose_inputs_did_not_change_rebuilds_nothing(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    write_staged(warehouse)
    resources = {"warehouse": DuckDBResource(database=str(warehouse))}

    def run() -> dict:
        result = dg.materialize([modelling_table], resources=resources)
        (event,) = result.get_asset_materialization_events()
        return {k: v.value for k, v in event.materialization.metadata.items()}

    first = run()
    assert (first["rebuild"], first["lines_featurized"]) == ("every line", 2)
    quiet = run()
    assert (quiet["rebuild"], quiet["lines_featurized"]) == ("skipped: inputs unchanged", 0)
    assert quiet["dagster/row_count"] == 2
    # One staged value the features read changes: the digest sees it and the line is rebuilt.
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("UPDATE staged_claim_lines SET units = units + 1 WHERE claim_id = 'C0'")
    changed = run()
    assert changed["rebuild"] == "changed lines and dependents"
    assert changed["lines_featurized"] >= 1
