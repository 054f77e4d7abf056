"""The code location loads with the operations objects, and dagster.yaml keeps one writer per warehouse."""

import os
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef
from dagster._utils.tags import TagConcurrencyLimitsCounter

from pipelines.defs.operations.jobs import WAREHOUSE_RUN_TAGS, WAREHOUSE_TAG, practice_run_tags

REPO_ROOT = Path(__file__).resolve().parents[2]
WRITER_JOBS = ("ingest_and_score_job", "retrain_job", "monthly_kpis_job")


@pytest.fixture(scope="module")
def repository() -> dg.RepositoryDefinition:
    from pipelines.definitions import defs

    return defs().get_repository_def()


def test_code_location_has_the_operations_objects(repository: dg.RepositoryDefinition) -> None:
    assert {s.name for s in repository.schedule_defs} >= {
        "daily_ingest_and_score",
        "monthly_retrain",
        "daily_recent_kpis",
        "weekly_housekeeping",
    }
    assert {s.name for s in repository.sensor_defs} >= {"landing_files_sensor", "run_failure_alert"}
    for name in WRITER_JOBS:
        job = repository.get_job(name)
        assert job.tags[WAREHOUSE_TAG] == "writer"
        assert job.executor_def.name == "in_process"
    assert repository.get_job("housekeeping_job").name == "housekeeping_job"
    assert dg.AssetKey("monthly_denial_kpis") in repository.asset_graph.get_all_asset_keys()


def test_job_selections_on_the_real_graph(repository: dg.RepositoryDefinition) -> None:
    """Daily job = every pipeline asset but denial_model; retraining = denial_model and below."""

    def selected(job: str) -> set[str]:
        keys = repository.get_job(job).asset_layer.executable_asset_keys
        return {k.to_user_string() for k in keys}

    assert selected("ingest_and_score_job") == {
        "reference_tables", "staged_claim_lines", "staged_remits", "staged_notes", "line_outcomes",
        "remit_line_outcomes", "remit_denial_kpis", "claim_acknowledgements", "modelling_table", "risk_scores", "risk_score_export", "static_report", "published_snapshot",
        "policy_drift_alerts",
    }  # fmt: skip
    assert selected("retrain_job") == {
        "denial_model",
        "policy_drift_alerts",
        "risk_scores",
        "risk_score_export",
        "static_report",
        "published_snapshot",
    }


def test_warehouse_writers_share_one_pool(repository: dg.RepositoryDefinition) -> None:
    from pipelines.defs.resources import WAREHOUSE_POOL

    graph = repository.asset_graph
    pools = {
        key.to_user_string(): graph.get(key).assets_def.op.pool
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_executable
    }
    readers_only = {"static_report"}
    assert {k for k, pool in pools.items() if pool != WAREHOUSE_POOL} == readers_only
    from pipelines.definitions import defs

    check_pools = {
        key.name: checks.op.pool
        for checks in defs().asset_checks or []
        for key in checks.check_keys
    }
    assert len(check_pools) == 8
    assert set(check_pools.values()) == {WAREHOUSE_POOL}


def test_monthly_kpis_use_the_warehouse_pool() -> None:
    from pipelines.defs.kpis.assets import monthly_denial_kpis

    assert monthly_denial_kpis.op.pool == "warehouse"


def test_dagster_yaml_limits_warehouse_writers_to_one_per_practice(tmp_path: Path) -> None:
    instance = dg.DagsterInstance.from_ref(
        InstanceRef.from_dir(str(tmp_path), config_dir=str(REPO_ROOT))
    )
    try:
        config = instance.get_concurrency_config()
        assert config.run_queue_config is not None
        limits = config.run_queue_config.tag_concurrency_limits
        assert {
            "key": WAREHOUSE_TAG,
            "value": {"applyLimitPerUniqueValue": True},
            "limit": 1,
        } in limits
        # The queue's own counter: a second run of a practice waits, another practice starts.
        running = [_tagged_run(practice_run_tags("north"))]
        counter = TagConcurrencyLimitsCounter(limits, running)
        assert counter.is_blocked(_tagged_run(practice_run_tags("north")))
        assert not counter.is_blocked(_tagged_run(practice_run_tags("south")))
        assert not counter.is_blocked(_tagged_run(WAREHOUSE_RUN_TAGS))
        embedded = TagConcurrencyLimitsCounter(limits, [_tagged_run(WAREHOUSE_RUN_TAGS)])
        assert embedded.is_blocked(_tagged_run(WAREHOUSE_RUN_TAGS))
        # A global pool of one would serialize every practice's steps.
        assert config.pool_config.default_pool_limit == config.run_queue_config.max_concurrent_runs
        assert instance.freshness_enabled
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    finally:
        instance.dispose()
    assert os.path.exists(REPO_ROOT / "dagster.yaml")


def _tagged_run(tags: dict[str, str]) -> dg.DagsterRun:
    return dg.DagsterRun(job_name="ingest_and_score_job", tags=tags)


def test_score_freshness_policy_attaches_to_the_scores_only(
    repository: dg.RepositoryDefinition,
) -> None:
    from pipelines.defs.operations.freshness import SCORES_FRESHNESS

    graph = repository.asset_graph
    policies = {
        key.to_user_string(): graph.get(key).freshness_policy for key in graph.get_all_asset_keys()
    }
    assert policies["risk_scores"] == SCORES_FRESHNESS
    assert policies["risk_score_export"] == SCORES_FRESHNESS
    assert policies["staged_claim_lines"] is None
    assert SCORES_FRESHNESS.deadline_cron == "0 8 * * *"
    assert SCORES_FRESHNESS.lower_bound_delta.total_seconds() == 2 * 3600
