"""One truncated 835, one unmatched 835 and one out-of-range claim row never stop the practice.

The real CLI `run` (the whole Dagster asset graph in-process, real DuckDB, GX, LightGBM) over a
small SYNTHETIC world with the three bad files planted: the good rows are scored and exported,
the bad ones quarantined with their reason and named in the run summary, exit code 3.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
from bad_landing import GOOD_PENDING_CLAIMS, OUT_OF_RANGE_CLAIM, plant_bad_files
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.runner import EXIT_SET_ASIDE


def test_bad_files_cost_only_their_own_rows(small_world: Path, tmp_path: Path) -> None:
    landing = shutil.copytree(small_world, tmp_path / "landing")
    bad = plant_bad_files(landing)
    data = tmp_path / "data"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--landing",
            str(landing),
            "--warehouse",
            str(data / "warehouse.duckdb"),
            "--exports",
            str(data / "exports"),
        ],
        terminal_width=200,
    )
    output = result.output
    assert result.exit_code == EXIT_SET_ASIDE, output
    assert "Checks:" in output and " 0 failed" in output
    for path in bad.values():
        assert f"{path.parent.name}/{path.name}" in output
    assert "rows set aside" in output

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        reasons = con.execute(
            "SELECT source_file, reason, column_name, count(*) FROM quarantined_rows "
            "GROUP BY ALL ORDER BY 1, 2"
        ).fetchall()
        pending = set(
            con.execute(
                "SELECT c.claim_id, c.line_number FROM line_outcomes o JOIN staged_claim_lines c "
                "USING (claim_id, line_number) WHERE o.status = 'pending' AND c.cpt_code = '64520'"
            ).fetchall()
        )
        null_lines = con.execute(
            "SELECT count(*) FROM staged_remits WHERE line_number IS NULL"
        ).fetchall()
        truncated_loaded = con.execute(
            "SELECT count(*) FROM staged_remits WHERE source_file = ?",
            [f"remits/{bad['truncated'].name}"],
        ).fetchall()[0][0]
        ledger = dict(
            (path, (read, loaded, quarantined))
            for path, read, loaded, quarantined in con.execute(
                "SELECT path, rows_read, rows_loaded, rows_quarantined FROM ingest_ledger"
            ).fetchall()
        )
    by_file = {(f, reason): (column, n) for f, reason, column, n in reasons}
    assert by_file[("claims/zz_out_of_range.csv", "bad_value")] == ("units", 1)
    unmatched_column, unmatched_rows = by_file[("remits/zz_other_practice.835", "unmatched_line")]
    assert unmatched_column == "line_number" and unmatched_rows > 0
    assert any(f == f"remits/{bad['truncated'].name}" for f, _ in by_file)
    assert null_lines == [(0,)]
    # The truncated 835's complete claims still count.
    assert truncated_loaded > 0
    # Every file balances, the set-aside rows counted as quarantined.
    assert all(read == loaded + quarantined for read, loaded, quarantined in ledger.values())
    assert ledger["remits/zz_other_practice.835"][2] == unmatched_rows

    manifests = sorted((data / "exports").glob("risk_scores_*.manifest.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    export = pl.read_csv(manifests[0].with_name(manifest["file"]), infer_schema_length=0)
    assert manifest["rows"] == export.height == len(pending) > 0
    assert set(zip(export["claim_id"], export["line_number"].cast(int), strict=True)) == pending
    assert {(c, 1) for c in GOOD_PENDING_CLAIMS} <= pending
    assert OUT_OF_RANGE_CLAIM not in {c for c, _ in pending}
