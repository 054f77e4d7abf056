"""`denial-risk run --job ...`: the one Definitions' jobs, recorded in the persistent instance."""

from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.runner import JOBS, dagster_home, load_definitions
from pipelines.settings import ProductSettings
from pipelines.sources.synthetic import generate_world


def test_every_run_job_is_a_job_of_the_one_definitions() -> None:
    definitions = load_definitions()
    for name in JOBS.values():
        assert definitions.resolve_job_def(name).name == name
    full = definitions.resolve_job_def(JOBS["full"]).asset_layer.executable_asset_keys
    keys = {k.to_user_string() for k in full}
    assert {"staged_claim_lines", "modelling_table", "denial_model", "risk_score_export"} <= keys
    assert "oracle_evaluation" not in keys and "monthly_denial_kpis" not in keys


def test_dagster_home_is_under_the_data_folder_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ProductSettings(warehouse=tmp_path / "data" / "warehouse.duckdb")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    assert dagster_home(settings) == tmp_path / "data" / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    assert dagster_home(settings) == tmp_path / "elsewhere"


def test_unknown_job_is_refused_before_any_work(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--job", "weekly", "--landing", str(tmp_path)])
    assert result.exit_code == 2
    assert "--job" in result.output


def test_cli_run_is_recorded_in_the_persistent_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    landing, data = tmp_path / "landing", tmp_path / "data"
    generate_world(landing, lines=2_500, seed=5)
    args = ["run", "--landing", str(landing), "--warehouse", str(data / "warehouse.duckdb")]
    result = CliRunner().invoke(app, [*args, "--exports", str(data / "exports"), "--job", "full"])
    assert result.exit_code in (0, 3), result.output
    assert "full job" in result.output

    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1
        assert runs[0].job_name == JOBS["full"]
        assert runs[0].tags["denial_risk/job"] == "full"
        for asset in ("staged_claim_lines", "modelling_table", "denial_model", "risk_scores"):
            event = instance.get_latest_materialization_event(dg.AssetKey(asset))
            assert event is not None, asset
            assert event.run_id == runs[0].run_id
        checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [
                dg.AssetCheckKey(dg.AssetKey("staged_claim_lines"), name)
                for name in _check_names("staged_claim_lines")
            ]
        )
        assert checks, "the run's asset check results are in the instance"
    assert (data / "dagster_home").is_dir()


def _check_names(asset: str) -> list[str]:
    graph = load_definitions().resolve_asset_graph()
    return [k.name for k in graph.asset_check_keys if k.asset_key == dg.AssetKey(asset)]


def test_full_run_with_a_truth_adds_only_the_oracle_comparison() -> None:
    from pipelines.runner import _job_and_subset

    definitions = load_definitions()
    job, subset = _job_and_subset(definitions, "full", None, with_truth=True)
    keys = {k.to_user_string() for k in subset.resolve(definitions.resolve_asset_graph())}
    full = definitions.resolve_job_def(JOBS["full"]).asset_layer.executable_asset_keys
    assert keys == {k.to_user_string() for k in full} | {"oracle_evaluation"}
    job, subset = _job_and_subset(definitions, "daily", None, with_truth=True)
    assert job.name == JOBS["daily"] and subset is None


def test_a_killed_cli_run_is_marked_failed_and_frees_its_slots(tmp_path: Path) -> None:
    from pipelines.runner import WAREHOUSE_PATH_TAG, fail_abandoned_runs

    settings = ProductSettings(warehouse=tmp_path / "data" / "warehouse.duckdb")
    (tmp_path / "home").mkdir()
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        tags = {"denial_risk/started_by": "cli", WAREHOUSE_PATH_TAG: str(settings.warehouse)}
        other = {**tags, WAREHOUSE_PATH_TAG: str(tmp_path / "other.duckdb")}
        job = load_definitions().resolve_job_def(JOBS["daily"])
        started = dg.DagsterRunStatus.STARTED
        mine = instance.create_run_for_job(job, tags=tags, status=started)
        theirs = instance.create_run_for_job(job, tags=other, status=started)
        assert fail_abandoned_runs(instance, settings) == [mine.run_id]
        assert instance.get_run_by_id(mine.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(theirs.run_id).status == dg.DagsterRunStatus.STARTED
