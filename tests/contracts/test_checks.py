"""The contracts as Dagster asset checks: a failed blocking check stops everything downstream."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from contract_world import WORLD_SQL
from dagster_duckdb import DuckDBResource

from pipelines.defs.features.checks import modelling_table_contract
from pipelines.defs.ingest.checks import (
    staged_claim_lines_contract,
    staged_claim_lines_payer_volume,
    staged_notes_contract,
    staged_remits_contract,
)
from pipelines.defs.model.checks import risk_scores_calibration, risk_scores_contract
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings

CHECKS = [
    staged_claim_lines_contract,
    staged_claim_lines_payer_volume,
    staged_remits_contract,
    staged_notes_contract,
    modelling_table_contract,
    risk_scores_contract,
    risk_scores_calibration,
]


def stand_in_assets(defect_sql: str) -> list[dg.AssetsDefinition]:
    """Tiny stand-ins with the real asset keys: the first builds the warehouse with a defect."""

    @dg.asset(name="staged_claim_lines")
    def staged_claim_lines(warehouse: DuckDBResource) -> None:
        with warehouse.get_connection() as con:
            con.execute(WORLD_SQL)
            if defect_sql:
                con.execute(defect_sql)

    @dg.asset(name="staged_remits", deps=["staged_claim_lines"])
    def staged_remits() -> None: ...

    @dg.asset(name="line_outcomes", deps=["staged_claim_lines", "staged_remits"])
    def line_outcomes() -> None: ...

    @dg.asset(name="staged_notes", deps=["staged_claim_lines"])
    def staged_notes() -> None: ...

    @dg.asset(name="modelling_table", deps=["line_outcomes", "staged_notes"])
    def modelling_table() -> None: ...

    @dg.asset(name="denial_model", deps=["modelling_table"])
    def denial_model() -> None: ...

    @dg.asset(name="risk_scores", deps=["denial_model"])
    def risk_scores() -> None: ...

    @dg.asset(name="risk_score_export", deps=["risk_scores"])
    def risk_score_export() -> None: ...

    return [
        staged_claim_lines,
        staged_remits,
        line_outcomes,
        staged_notes,
        modelling_table,
        denial_model,
        risk_scores,
        risk_score_export,
    ]


def materialize(tmp_path: Path, defect_sql: str = "") -> dg.ExecuteInProcessResult:
    settings = ProductSettings(
        landing=tmp_path / "landing",
        warehouse=tmp_path / "warehouse.duckdb",
        exports=tmp_path / "exports",
    )
    return dg.materialize(
        [*stand_in_assets(defect_sql), *CHECKS],
        resources=build_resources(settings),
        raise_on_error=False,
    )


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_clean_run_passes_every_check_and_reaches_export(tmp_path: Path, gx_module) -> None:
    result = materialize(tmp_path)
    assert result.success
    checks = evaluations(result)
    assert all(e.passed for e in checks.values()), {n: e.description for n, e in checks.items()}
    assert len(checks) == 7
    assert "risk_score_export" in materialized(result)
    docs = tmp_path / "data_docs" / "index.html"
    assert docs.exists()
    index = docs.read_text()
    for suite in ("staged_claim_lines", "staged_remits", "modelling_table", "risk_scores"):
        assert suite in index
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        suites = con.execute(
            "SELECT suite, count(*), bool_and(success) FROM validation_results "
            "WHERE run_id = ? GROUP BY suite ORDER BY suite",
            [result.run_id],
        ).fetchall()
    assert [s for s, _, _ in suites] == sorted(
        [
            "modelling_table",
            "risk_scores",
            "risk_scores_calibration",
            "staged_claim_lines",
            "staged_claim_lines_payer_volume",
            "staged_notes",
            "staged_remits",
        ]
    )
    assert all(ok for _, _, ok in suites)


def test_failed_staging_contract_stops_everything_downstream(tmp_path: Path, gx_module) -> None:
    result = materialize(
        tmp_path,
        "UPDATE staged_remits SET claim_id = 'X' || claim_id WHERE source_row % 10 < 3",
    )
    assert not result.success
    check = evaluations(result)["staged_remits_contract"]
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert "suite staged_remits failed" in check.description
    assert "expect_column_values_to_be_between(unmatched_remit_share)" in check.description
    assert "observed 0.3" in check.description
    failed = check.metadata["failed_expectations"].value
    assert failed[0]["column"] == "unmatched_remit_share"
    assert str(check.metadata["data_docs"].value).endswith("index.html")
    done = materialized(result)
    assert "staged_remits" in done
    assert not done & {"modelling_table", "denial_model", "risk_scores", "risk_score_export"}


def test_scores_above_one_stop_the_export(tmp_path: Path, gx_module) -> None:
    result = materialize(
        tmp_path, "UPDATE risk_scores SET denial_probability = 1.3 WHERE hash(claim_id) % 20 = 0"
    )
    checks = evaluations(result)
    assert not checks["risk_scores_contract"].passed
    assert "expect_column_values_to_be_between(denial_probability)" in (
        checks["risk_scores_contract"].description
    )
    assert all(e.passed for name, e in checks.items() if name != "risk_scores_contract")
    done = materialized(result)
    assert "risk_scores" in done and "risk_score_export" not in done


def test_check_modules_do_not_import_great_expectations() -> None:
    code = (
        "import sys, pipelines.defs.ingest.checks, pipelines.defs.features.checks, "
        "pipelines.defs.model.checks; print('great_expectations' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_clean_generated_world_passes_every_check_with_the_real_assets(
    tmp_path: Path, gx_module
) -> None:
    import importlib

    from pipelines.sources.synthetic.generate import generate_world

    generate_world(tmp_path / "landing", lines=4000, seed=11)
    modules = [
        importlib.import_module(f"pipelines.defs.{name}")
        for name in ("ingest.assets", "features.assets", "model.assets")
    ]
    assets = [v for m in modules for v in vars(m).values() if isinstance(v, dg.AssetsDefinition)]
    settings = ProductSettings(
        landing=tmp_path / "landing",
        warehouse=tmp_path / "data" / "warehouse.duckdb",
        exports=tmp_path / "exports",
    )
    (tmp_path / "data").mkdir()
    result = dg.materialize(
        [*assets, *CHECKS], resources=build_resources(settings), raise_on_error=False
    )
    checks = evaluations(result)
    assert len(checks) == 7
    assert all(e.passed for e in checks.values()), {n: e.description for n, e in checks.items()}
    assert result.success
    assert "risk_score_export" in materialized(result)
    assert (tmp_path / "data" / "data_docs" / "index.html").exists()
