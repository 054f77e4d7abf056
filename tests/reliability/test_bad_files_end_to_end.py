"""One bad file never stops the practice, and patient identifiers stay where they belong.

The real CLI `run` in a subprocess (the whole Dagster asset graph, real DuckDB, GX, LightGBM,
report, snapshot) over a small SYNTHETIC world with one truncated 835, one unmatched 835 and one
claims file with an out-of-range row planted, plus sentinel patient names, member ids, birth
dates and note text. The good rows are scored and exported, the bad ones quarantined with their
reason and named in the summary (exit code 3); no sentinel is found outside the rows that need it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from bad_landing import (
    GOOD_PENDING_CLAIMS,
    OUT_OF_RANGE_CLAIM,
    SENTINEL_BIRTH,
    SENTINEL_MEMBER,
    SENTINEL_NAME,
    SENTINEL_NOTE,
    plant_bad_files,
    plant_sentinels,
)

from pipelines.runner import EXIT_SET_ASIDE

REPO = Path(__file__).resolve().parents[2]
IDENTIFIERS = (SENTINEL_NAME, SENTINEL_MEMBER, *SENTINEL_BIRTH)
PHI_KEY = "reliability-test-key-not-a-secret"


def _env() -> dict[str, str]:
    """The test's environment without the caller's product settings; one fixed PHI key."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DENIAL_RISK_")}
    return {**clean, "COLUMNS": "200", "DENIAL_RISK_PHI_KEY": PHI_KEY}


def _run_command(landing: Path, data: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from pipelines.cli import app; app()",
        "run",
        "--landing",
        str(landing),
        "--warehouse",
        str(data / "warehouse.duckdb"),
        "--exports",
        str(data / "exports"),
    ]


@dataclass(frozen=True)
class Run:
    landing: Path
    data: Path
    bad: dict[str, Path]
    returncode: int
    output: str


@pytest.fixture(scope="module")
def bad_run(small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("bad_run")
    landing = shutil.copytree(small_world, root / "landing")
    bad = plant_bad_files(landing)
    plant_sentinels(landing)
    data = root / "data"
    done = subprocess.run(
        _run_command(landing, data),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
    )
    return Run(landing, data, bad, done.returncode, done.stdout + done.stderr)


def test_bad_files_cost_only_their_own_rows(bad_run: Run) -> None:
    output, data, bad = bad_run.output, bad_run.data, bad_run.bad
    assert bad_run.returncode == EXIT_SET_ASIDE, output
    assert "Checks:" in output and " 0 failed" in output
    for path in bad.values():
        assert f"{path.parent.name}/{path.name}" in output
    assert "rows set aside" in output
    # The three most common reasons and where to look follow the per-file list.
    assert "  most common: " in output
    assert "where to look: table quarantined_rows" in output

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
        ledger = {
            path: (read, loaded, quarantined)
            for path, read, loaded, quarantined in con.execute(
                "SELECT path, rows_read, rows_loaded, rows_quarantined FROM ingest_ledger"
            ).fetchall()
        }
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


def _text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY 1, 2"
    ).fetchall()


def _found_in_database(path: Path, needles: tuple[str, ...]) -> set[tuple[str, str, str]]:
    """(table, column, needle) for every column whose text holds a needle."""
    found = set()
    with duckdb.connect(str(path), read_only=True) as con:
        for table, column in _text_columns(con):
            for needle in needles:
                hits = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) '
                    "ILIKE '%' || ? || '%'",
                    [needle],
                ).fetchall()[0][0]
                if hits:
                    found.add((table, column, needle))
    return found


def test_patient_identifiers_reach_no_table_file_or_log(bad_run: Run) -> None:
    data = bad_run.data
    warehouse = _found_in_database(data / "warehouse.duckdb", (*IDENTIFIERS, SENTINEL_NOTE))
    # Note text is cleared once its documentation elements are stored (default retention).
    assert warehouse == set()
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        quarantined = con.execute(
            "SELECT raw_record FROM quarantined_rows WHERE raw_record LIKE '%NM1*QC%'"
        ).fetchall()
    # The truncated 835's last segment is kept, its name withheld and its member id hashed.
    assert quarantined and all("[withheld]" in r[0] and "key:" in r[0] for r in quarantined)
    snapshot = data / "published" / "snapshot.duckdb"
    assert snapshot.exists()
    assert _found_in_database(snapshot, (*IDENTIFIERS, SENTINEL_NOTE)) == set()
    files = [
        p
        for p in data.rglob("*")
        if p.is_file() and p.suffix not in (".duckdb", ".wal") and p.name != ".phi_key"
    ]
    assert any(p.suffix == ".html" for p in files) and any(p.suffix == ".csv" for p in files)
    for path in files:
        body = path.read_bytes()
        for needle in (*IDENTIFIERS, SENTINEL_NOTE):
            assert needle.encode() not in body, f"{needle} in {path}"
    for needle in (*IDENTIFIERS, SENTINEL_NOTE):
        assert needle not in bad_run.output, f"{needle} in the run's log output"


# Warehouse tables a killed-then-rerun run must leave exactly as a clean run does (run-time
# columns left out).
COMPARED = {
    "staged_claim_lines": "*",
    "staged_remits": "*",
    "staged_remit_adjustments": "*",
    "staged_notes": "*",
    "held_remits": "*",
    "held_remit_adjustments": "*",
    "line_outcomes": "*",
    "quarantined_rows": "* EXCLUDE (quarantined_at)",
    "ingest_ledger": "* EXCLUDE (first_seen, last_seen)",
    "modelling_table": "*",
    "risk_scores_history": "claim_id, line_number",
}
# Where the run is killed: the first line the CLI prints when that step starts.
KILL_POINTS = {
    # Claims and remits committed, notes being loaded (elements computed, text cleared).
    "ingest": "… staged_notes",
    # The modelling table written, the model being trained.
    "training": "… denial_model",
    # The scores committed; the export, snapshot and report not written yet.
    "export": "… risk_score_export",
}


def _killed_at(landing: Path, data: Path, marker: str) -> str:
    """Start a run and SIGKILL it the moment `marker` is printed; its output so far."""
    proc = subprocess.Popen(
        _run_command(landing, data),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if marker in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    return "".join(seen)


@pytest.mark.slow
@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_run_killed_at_any_step_leaves_nothing_behind(
    bad_run: Run, tmp_path: Path, point: str
) -> None:
    landing = shutil.copytree(bad_run.landing, tmp_path / "landing")
    data = tmp_path / "data"
    _killed_at(landing, data, KILL_POINTS[point])
    published = data / "published"
    if point == "export":
        # What a kill while publishing leaves beside the snapshot.
        published.mkdir(parents=True, exist_ok=True)
        (published / ".snapshot.duckdb.0badc0de.building").write_bytes(b"half a database")
        (published / ".snapshot.duckdb.0badc0de.building.wal").write_bytes(b"half a log")

    done = subprocess.run(
        _run_command(landing, data),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env=_env(),
    )
    assert done.returncode == EXIT_SET_ASIDE, done.stdout + done.stderr
    assert not list(published.glob("*.building*"))
    assert not list(published.glob(".*"))
    assert (published / "snapshot.duckdb").exists()
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        con.execute(f"ATTACH '{bad_run.data / 'warehouse.duckdb'}' AS clean (READ_ONLY)")
        for table, columns in COMPARED.items():
            for left, right in (("main", "clean"), ("clean", "main")):
                extra = con.execute(
                    f"SELECT count(*) FROM (SELECT {columns} FROM {left}.{table} "
                    f"EXCEPT ALL SELECT {columns} FROM {right}.{table})"
                ).fetchall()[0][0]
                assert extra == 0, f"{table}: {extra} rows in {left} only"
        history = con.execute(
            "SELECT count(*), count(DISTINCT scored_at) FROM risk_scores_history"
        ).fetchall()[0]
        scored = con.execute("SELECT count(*) FROM risk_scores").fetchall()[0][0]
        runs = con.execute("SELECT exported, count(*) FROM scoring_runs GROUP BY 1").fetchall()
        texts = con.execute("SELECT count(text) FROM staged_notes").fetchall()[0][0]
    # Only the rerun's scores: the killed run's were never exported, so they left the history.
    assert history == (scored, 1)
    assert runs == [(True, 1)]
    assert texts == 0
    exports = data / "exports"
    assert len(list(exports.glob("risk_scores_*.manifest.json"))) == 1
    assert not [p for p in exports.iterdir() if p.name.startswith(".")]


def test_a_second_run_started_while_one_holds_the_warehouse_refuses(tmp_path: Path) -> None:
    from pipelines.runner import EXIT_RUN_IN_PROGRESS, run_lock
    from pipelines.settings import ProductSettings

    landing = tmp_path / "landing"
    (landing / "claims").mkdir(parents=True)
    (landing / "claims" / "claims.csv").write_text("claim_id,line_number\n", encoding="utf-8")
    data = tmp_path / "data"
    settings = ProductSettings(
        landing=landing, warehouse=data / "warehouse.duckdb", exports=data / "exports"
    )
    with run_lock(settings):
        done = subprocess.run(
            _run_command(landing, data),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            env=_env(),
        )
    assert done.returncode == EXIT_RUN_IN_PROGRESS, done.stdout + done.stderr
    assert "another run is using" in done.stdout
    assert not (data / "warehouse.duckdb").exists()


def test_a_failed_manifest_write_leaves_no_export_and_fails_the_run(
    bad_run: Run, tmp_path: Path
) -> None:
    """The export's manifest cannot be written: no CSV, no temp file, the run says so."""
    import dagster as dg

    from models.export import export_name
    from pipelines.runner import run_pipeline
    from pipelines.settings import ProductSettings

    data = shutil.copytree(bad_run.data, tmp_path / "data")
    exports = tmp_path / "exports"
    exports.mkdir()
    # A directory where the manifest must go, for every second the export may be written in.
    start = datetime.now(UTC)
    blockers = {
        exports / export_name(start + timedelta(seconds=s)).replace(".csv", ".manifest.json")
        for s in range(-5, 600)
    }
    for blocker in blockers:
        blocker.mkdir()
    settings = ProductSettings(
        landing=bad_run.landing, warehouse=data / "warehouse.duckdb", exports=exports
    )
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        runs_before = con.execute("SELECT * FROM scoring_runs ORDER BY 1").fetchall()
    only_export = dg.AssetSelection.assets("risk_score_export")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DENIAL_RISK_PHI_KEY", PHI_KEY)
        failed = run_pipeline(settings, selection=only_export)
    assert not failed.success and failed.exit_code == 1
    assert [step for step, _ in failed.failed_steps] == ["risk_score_export"]
    assert "IsADirectoryError" in failed.failed_steps[0][1] or "directory" in (
        failed.failed_steps[0][1].lower()
    )
    assert set(exports.iterdir()) == blockers  # no CSV, no manifest, no temp file
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        runs_after = con.execute("SELECT * FROM scoring_runs ORDER BY 1").fetchall()
    assert runs_after == runs_before  # nothing new marked as issued

    for blocker in blockers:
        blocker.rmdir()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DENIAL_RISK_PHI_KEY", PHI_KEY)
        done = run_pipeline(settings, selection=only_export)
    assert done.success, done.failed_steps
    names = sorted(p.name for p in exports.iterdir())
    assert len(names) == 2 and names[0].endswith(".csv") and names[1].endswith(".manifest.json")
