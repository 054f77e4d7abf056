"""The same generated world staged from flat files and from X12 gives the same tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.sources.landing import (
    build_line_outcomes,
    ingest_folders,
    load_reference_tables,
    match_remit_lines,
)
from pipelines.sources.synthetic import generate_world
from pipelines.sources.x12 import write_x12_landing

FOLDERS = ("claims", "remits", "remit_adjustments", "notes")
# Where a row sits in its file differs by format; match_* are only filled from X12.
FORMAT_COLUMNS = "source_file, source_row"
MATCH_COLUMNS = "match_cpt_code, match_modifiers, match_service_date"
REMIT_MATCH_COLUMNS = f"{MATCH_COLUMNS}, match_charge_amount"


def _staged(landing: Path, warehouse: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(warehouse)) as con:
        load_reference_tables(con)
        summary = ingest_folders(con, landing, FOLDERS, b"k" * 32)
        assert summary.files_rejected == 0
        match_remit_lines(con)
        build_line_outcomes(con)
        queries = {
            "staged_claim_lines": f"SELECT * EXCLUDE ({FORMAT_COLUMNS}) FROM staged_claim_lines",
            "staged_remits": (
                f"SELECT * EXCLUDE ({FORMAT_COLUMNS}, {REMIT_MATCH_COLUMNS}) FROM staged_remits"
            ),
            "staged_remit_adjustments": (
                f"SELECT * EXCLUDE ({FORMAT_COLUMNS}, {MATCH_COLUMNS}) FROM staged_remit_adjustments"
            ),
            "line_outcomes": "SELECT * FROM line_outcomes",
            "quarantined_rows": "SELECT folder, reason, column_name, count(*) AS n "
            "FROM quarantined_rows GROUP BY ALL",
        }
        frames = {
            name: pl.from_arrow(con.execute(sql).to_arrow_table()) for name, sql in queries.items()
        }
    return {name: frame.sort(frame.columns, nulls_last=True) for name, frame in frames.items()}


@pytest.mark.slow
def test_flat_and_x12_landings_stage_identically(tmp_path: Path) -> None:
    flat, x12 = tmp_path / "flat", tmp_path / "x12"
    generate_world(flat, lines=500, seed=3, fmt="csv")
    shutil.copytree(flat, x12)
    write_x12_landing(x12)
    from_flat = _staged(flat, tmp_path / "flat.duckdb")
    from_x12 = _staged(x12, tmp_path / "x12.duckdb")
    assert from_flat["staged_claim_lines"].height > 300
    assert from_flat["line_outcomes"].height == from_flat["staged_claim_lines"].height
    for table, frame in from_flat.items():
        assert from_x12[table].equals(frame), table
