"""The README's product command end to end: `denial-risk demo`, then `run` again and `evaluate`.

One small synthetic world through the real CLI, the real Dagster run, real DuckDB, GX, LightGBM
and the report; the later tests read what the demo left behind.
"""

import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.cli import app

DEMO_LINES = 8_000
ENV = ("DENIAL_RISK_LANDING", "DENIAL_RISK_WAREHOUSE", "DENIAL_RISK_EXPORTS")


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`denial-risk demo` exactly as the README runs it: defaults, relative paths under ./data."""
    root = tmp_path_factory.mktemp("demo")
    saved = {name: os.environ.pop(name, None) for name in ENV}
    cwd = Path.cwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(app, ["demo", "--lines", str(DEMO_LINES)])
        (root / "demo_output.txt").write_text(result.output)
        assert result.exit_code == 0, result.output
        yield root / "data"
    finally:
        os.chdir(cwd)
        for name, value in saved.items():
            if value is not None:
                os.environ[name] = value


def _sql(path: Path, query: str) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(query).pl()


def test_demo_generates_runs_exports_and_says_where_to_look(demo_root: Path) -> None:
    output = (demo_root.parent / "demo_output.txt").read_text()
    assert "SYNTHETIC" in output
    for where in ("Exports:", "Report:", "Data Docs:", "Dashboards:"):
        assert where in output

    exports = sorted((demo_root / "exports").glob("risk_scores_*.csv"))
    assert len(exports) == 1
    manifest = json.loads(exports[0].with_suffix(".manifest.json").read_text())
    scores = pl.read_csv(exports[0], schema_overrides={"claim_id": pl.String})
    assert manifest["rows"] == scores.height > 0
    assert "patient_id" not in scores.columns and "patient_key" not in scores.columns
    assert scores["denial_probability"].is_between(0, 1).all()
    assert (demo_root / "reports" / "report.html").stat().st_size > 100_000
    assert (demo_root / "data_docs" / "index.html").exists()

    pending = _sql(
        demo_root / "warehouse.duckdb",
        "SELECT count(*) AS n FROM line_outcomes o JOIN staged_claim_lines c "
        "USING (claim_id, line_number) WHERE o.status = 'pending' AND c.cpt_code = '64520'",
    )["n"][0]
    assert scores.height == pending


def test_demo_compares_the_champion_with_the_truth(demo_root: Path) -> None:
    output = (demo_root.parent / "demo_output.txt").read_text()
    assert "against the ground truth" in output
    oracle = _sql(demo_root / "warehouse.duckdb", "SELECT * FROM oracle_evaluation")
    assert set(oracle["scorer"]) == {"model", "logistic_regression", "rules_scrubber", "oracle"}
    auc = {r["scorer"]: r["value"] for r in oracle.filter(pl.col("metric") == "roc_auc").to_dicts()}
    assert 0.6 < auc["oracle"] <= 1.0
    assert auc["model"] > auc["rules_scrubber"]
    champion = _sql(
        demo_root / "warehouse.duckdb",
        "SELECT model_version FROM model_registry WHERE is_champion",
    )["model_version"].to_list()
    assert oracle["model_version"].unique().to_list() == champion
    published = _sql(
        demo_root / "published" / "snapshot.duckdb", "SELECT count(*) AS n FROM oracle_evaluation"
    )
    assert published["n"][0] == oracle.height
    # The comparison and the targets reach the champion's model card and metadata.
    assert "Model targets on these pending lines" in output
    card_folder = demo_root / "models" / champion[0]
    stored = json.loads((card_folder / "metadata.json").read_text())["metrics"]["oracle"]
    assert stored["model"]["roc_auc"] == pytest.approx(auc["model"])
    card = (card_folder / "model_card.md").read_text()
    assert "## Targets (pending lines, synthetic truth)" in card
    assert "within 0.015 of the oracle" in card and "expected_roc_auc" in card


def test_running_again_changes_no_staged_row(demo_root: Path) -> None:
    warehouse = demo_root / "warehouse.duckdb"
    count = (
        "SELECT (SELECT count(*) FROM staged_claim_lines) AS claims, "
        "(SELECT count(*) FROM staged_remits) AS remits, "
        "(SELECT count(*) FROM quarantined_rows) AS quarantined"
    )
    ledger = "SELECT path, sha256, rows_loaded FROM ingest_ledger ORDER BY path"
    before, ledger_before = _sql(warehouse, count), _sql(warehouse, ledger)
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    assert _sql(warehouse, count).equals(before)
    assert _sql(warehouse, ledger).equals(ledger_before)
    assert len(list((demo_root / "exports").glob("risk_scores_*.manifest.json"))) == 2


def test_evaluate_refuses_a_missing_truth_file(demo_root: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--truth", str(demo_root / "absent.csv")])
    assert result.exit_code != 0
    assert "absent.csv" in str(result.exception) + result.output


def test_generate_refuses_truth_inside_the_landing_folder(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    result = CliRunner().invoke(
        app,
        ["generate", "--out", str(landing), "--lines", "500", "--truth", str(landing / "t.csv")],
    )
    assert result.exit_code == 2
    assert "--truth must not be inside the landing folder" in result.output


@pytest.mark.parametrize("make", ["missing", "empty", "no_claims"])
def test_run_without_claim_files_says_so_plainly(tmp_path: Path, make: str) -> None:
    landing = tmp_path / "landing"
    if make != "missing":
        (landing / "claims").mkdir(parents=True)
    if make == "no_claims":
        (landing / "claims" / ".hidden.csv").write_text("x\n")
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    result = CliRunner().invoke(
        app, ["run", "--landing", str(landing), "--warehouse", str(warehouse)]
    )
    assert result.exit_code == 2, result.output
    assert f"no claim files found in {landing / 'claims'}" in result.output
    # Stopped before any Dagster or GX work: nothing was created beside the warehouse.
    assert not warehouse.parent.exists()


@pytest.mark.parametrize("lines", ["0", "-5"])
def test_generate_rejects_non_positive_lines(tmp_path: Path, lines: str) -> None:
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "l"), "--lines", lines])
    assert result.exit_code == 2
    assert "--lines must be a positive number" in result.output
    assert not (tmp_path / "l").exists()


@pytest.mark.parametrize("lines", [1, 37, 2_500])
def test_generate_writes_exactly_the_lines_asked_for(tmp_path: Path, lines: int) -> None:
    landing, truth = tmp_path / "l", tmp_path / "truth.csv"
    result = CliRunner().invoke(
        app,
        ["generate", "--out", str(landing), "--lines", str(lines), "--truth", str(truth)],
    )
    assert result.exit_code == 0, result.output
    claims = pl.concat(
        [pl.read_csv(p, infer_schema=False) for p in sorted((landing / "claims").glob("*.csv"))]
    )
    assert claims.height == lines
    keys = claims.select("claim_id", pl.col("line_number").cast(pl.Int64))
    remits = [pl.read_csv(p, infer_schema=False) for p in (landing / "remits").glob("*.csv")]
    if remits:
        remitted = pl.concat(remits).select("claim_id", pl.col("line_number").cast(pl.Int64))
        # Every remit still belongs to a written claim line.
        assert remitted.join(keys, on=["claim_id", "line_number"], how="anti").height == 0
    truth_rows = pl.read_csv(truth, infer_schema=False).select(
        "claim_id", pl.col("line_number").cast(pl.Int64)
    )
    assert truth_rows.join(keys, on=["claim_id", "line_number"], how="anti").height == 0


def test_dashboard_without_snapshot_names_the_path(tmp_path: Path) -> None:
    warehouse = tmp_path / "elsewhere" / "warehouse.duckdb"
    result = CliRunner().invoke(app, ["dashboard", "--warehouse", str(warehouse)])
    assert result.exit_code == 2
    assert str(tmp_path / "elsewhere" / "published" / "snapshot.duckdb") in result.output
    assert f"--warehouse {warehouse}" in result.output
