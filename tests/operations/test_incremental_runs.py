"""Issue 19's acceptance: daily runs leave every warehouse table as a full rebuild of the same files.

A small synthetic world arrives in daily drops (a month of files each, so remits of earlier
months arrive late); one drop replaces an earlier claims file with a corrected one under another
name, another withdraws a remits file. The first drop trains the champion (`--job full`); the
daily runs never retrain. After the drops, every table of the warehouse equals the tables of a
fresh warehouse built from the final landing folder in one `--full` daily run with the same
champion and patient-hash key (DuckDB `EXCEPT ALL` both ways, run ids and timestamps left out).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.runner import RunReport, run_pipeline
from pipelines.settings import ProductSettings
from pipelines.sources.synthetic import generate_world

FOLDERS = ("claims", "remits", "remit_adjustments", "notes")
DAILY_DROPS = 5
# Tables that record what happened run by run rather than what the files say: a sequence of runs
# and one rebuild differ in them by design.
RUN_LOGS = {
    "ingest_ledger": "one row per file ever seen, withdrawn files included, with first/last seen",
    "validation_results": "one row per expectation per validation run",
    "batch_history": "row counts per run: the baseline of the volume checks",
    "contract_validated_rows": "hashes of rows each suite has passed, withdrawn rows included",
    "contract_state": "each suite's judgement of the summaries an unchanged warehouse gives",
    "modelling_inputs_digest": "a digest of the inputs of the last feature build",
    "build_input_digests": "a digest of the inputs of each derived table's last build",
    "risk_scores_history": "scores issued by each run",
    "scoring_runs": "one row per scoring run",
    "features_changed_since_scoring": "emptied by every scoring run",
    "policy_drift_alerts": "alerts appended with the run that raised them",
    # Written by training, which daily runs never do: the rebuild reuses the champion's folder.
    "model_registry": "one row per trained model",
    "model_validation_predictions": "out-of-time predictions of each trained model",
}
# Columns that name a run or a moment, not a fact of the files.
RUN_COLUMNS = {
    "run_id",
    "scored_at",
    "quarantined_at",
    "generated_at",
    "built_at",
    "validated_at",
    "computed_at",
}


def _month(path: Path) -> str:
    return path.stem.rsplit("_", 1)[-1]


def _copy(source: Path, landing: Path, months: list[str]) -> list[Path]:
    copied = []
    for folder in FOLDERS:
        for path in sorted((source / folder).glob("*.csv")):
            if _month(path) in months:
                target = landing / folder / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target)
                copied.append(target)
    return copied


def _settings(root: Path, landing: Path) -> ProductSettings:
    return ProductSettings(
        landing=landing, warehouse=root / "warehouse.duckdb", exports=root / "exports", truth=None
    )


def _run(settings: ProductSettings, job: str, full_rebuild: bool = False) -> RunReport:
    report = run_pipeline(settings, job=job, full_rebuild=full_rebuild)
    assert report.completed, (report.failed_steps, report.failed_blocking_checks)
    return report


def _correct(path: Path, corrected: Path) -> None:
    """A corrected claims file: other units on the first 64520 line, its last line dropped."""
    frame = pl.read_csv(path, infer_schema=False)
    first = frame.with_row_index().filter(pl.col("cpt_code") == "64520")["index"][0]
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == first)
        .then(pl.lit("2"))
        .otherwise(pl.col("units"))
        .alias("units")
    ).head(frame.height - 1)
    frame.write_csv(corrected)
    path.unlink()


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _differences(daily: Path, rebuilt: Path) -> dict[str, tuple[int, int]]:
    """Per table: rows only in the daily warehouse, rows only in the rebuilt one."""
    with duckdb.connect(str(daily), read_only=True) as con:
        con.execute(f"ATTACH '{rebuilt}' AS rebuilt (READ_ONLY)")
        daily_tables = _tables(con) - set(RUN_LOGS)
        rebuilt_tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'rebuilt'"
            ).fetchall()
        }
        assert daily_tables - set(RUN_LOGS) == rebuilt_tables - set(RUN_LOGS)
        found = {}
        for table in sorted(daily_tables):
            columns = [
                r[0]
                for r in con.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() "
                    "WHERE database_name = current_database() AND table_name = ?",
                    [table],
                ).fetchall()
                if r[0] not in RUN_COLUMNS
            ]
            # Doubles summed in another row order may differ in the last bits.
            select = ", ".join(f'"{c}"' for c in columns)
            select = ", ".join(
                f'round("{c}", 9)' if t == "DOUBLE" else f'"{c}"'
                for c, t in con.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() "
                    "WHERE database_name = current_database() AND table_name = ?",
                    [table],
                ).fetchall()
                if c in columns
            )
            here = f"SELECT {select} FROM main.{table}"
            there = f"SELECT {select} FROM rebuilt.main.{table}"
            only_daily = con.execute(f"SELECT count(*) FROM ({here} EXCEPT ALL {there})").fetchall()
            only_rebuilt = con.execute(
                f"SELECT count(*) FROM ({there} EXCEPT ALL {here})"
            ).fetchall()
            if only_daily[0][0] or only_rebuilt[0][0]:
                found[table] = (only_daily[0][0], only_rebuilt[0][0])
        return found


def _check_one_claims_file_day(
    world: Path, landing: Path, settings: ProductSettings, month: str
) -> None:
    """A day with one new claims file rebuilds its lines and their dependents, nothing else.

    The dependents, written out here in SQL: 64520 lines of the file's patients submitted on or
    after a new line's submission date or serviced on its service day or the 3 days before, and
    every line submitted on or after the earliest `known_at` among the labelled ones of those.
    """
    new_file = landing / "claims" / f"claims_{month}.csv"
    new_file.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(world / "claims" / new_file.name, new_file)
    report = _run(settings, "daily")
    rows = pl.read_csv(new_file, infer_schema=False).height
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        new_lines = (
            "SELECT patient_key, service_date, submission_date FROM staged_claim_lines "
            f"WHERE source_file = 'claims/{new_file.name}'"
        )
        near = (
            "SELECT c.claim_id, c.line_number, o.status, o.adjudication_date, c.submission_date "
            "FROM staged_claim_lines c JOIN line_outcomes o USING (claim_id, line_number) "
            "WHERE c.cpt_code = '64520' AND EXISTS (SELECT 1 FROM ("
            f"{new_lines}) n WHERE n.patient_key = c.patient_key AND "
            "(c.submission_date >= n.submission_date OR c.service_date BETWEEN "
            "n.service_date - INTERVAL 3 DAY AND n.service_date))"
        )
        earliest = (
            f"SELECT min(greatest(adjudication_date, submission_date)) FROM ({near}) "
            "WHERE status <> 'pending' AND adjudication_date IS NOT NULL"
        )
        dependents = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE o.status = 'pending') FROM "
            "staged_claim_lines c JOIN line_outcomes o USING (claim_id, line_number) "
            "WHERE c.cpt_code = '64520' AND ((c.claim_id, c.line_number) IN "
            f"(SELECT claim_id, line_number FROM ({near})) OR c.submission_date >= ({earliest}))"
        ).fetchall()[0]
        total = con.execute("SELECT count(*) FROM modelling_table").fetchall()[0][0]
    assert report.daily_work["rows_validated"] == rows
    assert report.value("modelling_table", "claim_lines_changed") == rows
    assert report.daily_work["lines_featurized"] == dependents[0] < total
    assert report.daily_work["lines_rescored"] == dependents[1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    generate_world(source, lines=2_500, seed=5)
    return source


def test_daily_runs_equal_a_full_rebuild(world: Path, tmp_path: Path) -> None:
    months = sorted({_month(p) for p in (world / "claims").glob("*.csv")})
    first, drops = months[: -DAILY_DROPS - 1], months[-DAILY_DROPS - 1 : -1]
    landing, root = tmp_path / "landing", tmp_path / "daily"
    settings = _settings(root, landing)
    _copy(world, landing, first)
    _run(settings, "full")

    featurized, rescored = [], []
    for day, month in enumerate(drops):
        if day == len(drops) - 1:
            _check_one_claims_file_day(world, landing, settings, month)
        _copy(world, landing, [month])
        if day == 1:
            earlier = landing / "claims" / f"claims_{first[-2]}.csv"
            _correct(earlier, earlier.with_name(f"claims_{first[-2]}_corrected.csv"))
        if day == 3:
            # A remittance withdrawn by the payer: its remits and adjustments files leave.
            (landing / "remits" / f"remits_{first[-1]}.csv").unlink()
            (landing / "remit_adjustments" / f"remit_adjustments_{first[-1]}.csv").unlink()
        report = _run(settings, "daily")
        assert report.value("modelling_table", "full_rebuild") is False
        featurized.append(report.value("modelling_table", "lines_featurized"))
        rescored.append(report.value("risk_scores", "lines_rescored"))

    # A quiet day (no new file): zero work, and the steps that would repeat it say they skipped.
    quiet = _run(settings, "daily")
    assert quiet.completed
    assert quiet.daily_work == {"rows_validated": 0, "lines_featurized": 0, "lines_rescored": 0}
    skipped = "skipped: inputs unchanged"
    assert quiet.value("modelling_table", "rebuild") == skipped
    assert quiet.value("remit_line_outcomes", "rebuild") == skipped
    assert quiet.value("static_report", "report") == skipped
    contracts = {
        c.name: c.metadata["validation"] for c in quiet.checks if "validation" in c.metadata
    }
    assert len(contracts) == 7 and set(contracts.values()) == {skipped}, contracts

    rebuilt_root = tmp_path / "rebuilt"
    rebuilt_root.mkdir()
    shutil.copytree(root / "models", rebuilt_root / "models")
    shutil.copy(root / ".phi_key", rebuilt_root / ".phi_key")
    rebuilt = _run(_settings(rebuilt_root, landing), "daily", full_rebuild=True)
    assert rebuilt.value("modelling_table", "full_rebuild") is True
    total = rebuilt.value("modelling_table", "dagster/row_count")
    # Each day rebuilt a part of the table, never all of it.
    assert all(0 < n < total for n in featurized), featurized
    assert _differences(root / "warehouse.duckdb", rebuilt_root / "warehouse.duckdb") == {}
