"""Run a job of the one `Definitions` in-process, recorded in the persistent instance, and summarise it."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.defs.operations.jobs import FULL_REBUILD_TAG, JOB_TAG
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings

# `denial-risk run --job NAME`: the jobs of the one Definitions object (pipelines/defs/operations/jobs.py).
JOBS = {"daily": "ingest_and_score_job", "retrain": "retrain_job", "full": "full_run_job"}
FULL_RUN_JOB = JOBS["full"]
# Which warehouse a CLI run wrote: instances may be shared by several warehouses.
WAREHOUSE_PATH_TAG = "denial_risk/warehouse_path"
# The run completed (scored, exported) but set files or rows aside: someone should look.
EXIT_SET_ASIDE = 3
# Another run holds the warehouse: nothing was done.
EXIT_RUN_IN_PROGRESS = 4

StepCallback = Callable[[str, str], None]
"""Called with (event, step_key) for step_start, step_success, step_failure and step_skipped."""


@dataclass
class CheckOutcome:
    asset: str
    name: str
    passed: bool
    severity: str
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunReport:
    """What a run did, in the words of the CLI summary."""

    success: bool
    run_id: str
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)
    failed_steps: list[tuple[str, str]] = field(default_factory=list)
    skipped_steps: list[str] = field(default_factory=list)

    @property
    def failed_blocking_checks(self) -> list[CheckOutcome]:
        return [c for c in self.checks if not c.passed and c.severity == "ERROR"]

    @property
    def rejected_files(self) -> int:
        return sum(int(m.get("files_rejected", 0) or 0) for m in self.metadata.values())

    @property
    def rows_set_aside(self) -> int:
        """Rows quarantined by this run's loads, plus remit rows matching set aside."""
        return sum(
            int(m.get("rows_quarantined", 0) or 0) + int(m.get("rows_set_aside", 0) or 0)
            for m in self.metadata.values()
        )

    @property
    def daily_work(self) -> dict[str, int]:
        """What the run had to do: rows validated, lines featurized, lines rescored."""
        return {
            "rows_validated": sum(
                int(m.get("rows_validated", 0) or 0) for m in self.metadata.values()
            ),
            "lines_featurized": int(self.value("modelling_table", "lines_featurized", 0) or 0),
            "lines_rescored": int(self.value("risk_scores", "lines_rescored", 0) or 0),
        }

    def value(self, asset: str, key: str, default: Any = None) -> Any:
        return self.metadata.get(asset, {}).get(key, default)

    @property
    def completed(self) -> bool:
        """Every step ran and no blocking check stopped the run (rows may have been set aside)."""
        return self.success and not self.failed_blocking_checks and not self.failed_steps

    @property
    def exit_code(self) -> int:
        """0 all clean; 1 failed or blocked; 3 completed with files or rows set aside."""
        if not self.completed:
            return 1
        return EXIT_SET_ASIDE if self.rejected_files or self.rows_set_aside else 0


def root_cause(error: Any) -> str:
    """The innermost error of Dagster's wrapped chain: the message a user can act on."""
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def load_definitions() -> dg.Definitions:
    """The code location's one `Definitions` object."""
    from pipelines.definitions import defs

    return defs()


ORACLE_ASSET = "oracle_evaluation"


def dagster_home(settings: ProductSettings) -> Path:
    """Where CLI runs are recorded: `$DAGSTER_HOME` when set, else `<data>/dagster_home`."""
    return Path(os.environ.get("DAGSTER_HOME") or settings.data_root / "dagster_home")


def persistent_instance(settings: ProductSettings) -> dg.DagsterInstance:
    """The Dagster instance `dagster dev` reads with the same `DAGSTER_HOME` (docs/operations.md)."""
    home = dagster_home(settings).resolve()
    home.mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.from_config(str(home))


def _progress_logger(callback: StepCallback | None) -> dg.LoggerDefinition:
    events = {
        "STEP_START": "step_start",
        "STEP_SUCCESS": "step_success",
        "STEP_FAILURE": "step_failure",
        "STEP_SKIPPED": "step_skipped",
    }

    class _StepHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            meta = getattr(record, "dagster_meta", None)
            event = meta.get("dagster_event") if isinstance(meta, dict) else None
            if callback and event is not None and event.event_type_value in events:
                callback(events[event.event_type_value], event.step_key or "")

    @dg.logger
    def progress(_init_context: dg.InitLoggerContext) -> logging.Logger:
        step_logger = logging.getLogger("denial_risk.run_progress")
        step_logger.setLevel(logging.DEBUG)
        step_logger.handlers = [_StepHandler()]
        step_logger.propagate = False
        return step_logger

    return progress


class RunInProgress(RuntimeError):
    """Another run holds this warehouse's run lock."""


@contextlib.contextmanager
def run_lock(settings: ProductSettings) -> Iterator[None]:
    """One run per warehouse at a time: a second run refuses instead of fighting for the lock.

    `flock` on `<data>/.run.lock`: the kernel drops it when the holder dies (even by SIGKILL),
    so a killed run never blocks the next one.
    """
    path = settings.data_root / ".run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunInProgress(
                f"another run is using {settings.warehouse} (lock {path}); try again when it ends"
            ) from None
        yield
    finally:
        os.close(fd)


def remove_orphan_snapshot_files(published: Path) -> list[Path]:
    """`.building` files (and their `.wal`) a killed run left beside the published snapshot."""
    removed = []
    for orphan in sorted(published.parent.glob(f".{published.name}.*.building*")):
        with contextlib.suppress(FileNotFoundError):
            orphan.unlink()
            removed.append(orphan)
    return removed


def run_pipeline(
    settings: ProductSettings,
    *,
    job: str = "full",
    full_rebuild: bool = False,
    selection: dg.AssetSelection | None = None,
    on_step: StepCallback | None = None,
    instance: dg.DagsterInstance | None = None,
    tags: dict[str, str] | None = None,
) -> RunReport:
    """Run `job` (daily, retrain or full; or just `selection`) with its checks, in one process.

    The run is recorded in `instance`, by default the persistent one under the data folder.
    `full_rebuild` rebuilds the whole modelling table and rescores every pending line. `tags`
    are added to the run's tags; `denial_risk/practice` routes the resources to that practice.
    """
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}: one of {', '.join(JOBS)}")
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with run_lock(settings):
        remove_orphan_snapshot_files(settings.published_snapshot)
        with contextlib.ExitStack() as stack:
            if instance is None:
                instance = stack.enter_context(persistent_instance(settings))
            return _run_locked(settings, job, full_rebuild, selection, on_step, instance, tags)


def fail_abandoned_runs(instance: dg.DagsterInstance, settings: ProductSettings) -> list[str]:
    """Mark this warehouse's CLI runs still "started" as failed and free their pool slots.

    Called under the run lock, so such a run was killed (its process cannot be running); left
    alone, its claimed `warehouse` pool slot would hold every later run of an instance whose
    dagster.yaml limits the pool.
    """
    stuck = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
            tags={"denial_risk/started_by": "cli", WAREHOUSE_PATH_TAG: str(settings.warehouse)},
        )
    )
    for run in stuck:
        instance.report_run_failed(run, message="abandoned: its process ended without finishing")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return [run.run_id for run in stuck]


def _job_and_subset(
    definitions: dg.Definitions, job: str, selection: dg.AssetSelection | None, with_truth: bool
) -> tuple[dg.JobDefinition, dg.AssetSelection | None]:
    """The resolved job to execute and the subset of its assets to run (None: all of them)."""
    if selection is None and not (job == "full" and with_truth):
        return definitions.resolve_job_def(JOBS[job]), None
    # A custom selection, or the full run plus the synthetic-only oracle comparison: a subset of
    # the implicit all-assets job of the same Definitions.
    graph = definitions.resolve_asset_graph()
    if selection is None:
        full = definitions.resolve_job_def(FULL_RUN_JOB).asset_layer.executable_asset_keys
        selection = dg.AssetSelection.assets(*full, ORACLE_ASSET)
    keys = selection.resolve(graph)
    unpartitioned = [k for k in keys if not graph.get(k).is_partitioned]
    return definitions.resolve_implicit_global_asset_job_def(), dg.AssetSelection.assets(
        *unpartitioned
    )


def _run_locked(
    settings: ProductSettings,
    job: str,
    full_rebuild: bool,
    selection: dg.AssetSelection | None,
    on_step: StepCallback | None,
    instance: dg.DagsterInstance,
    tags: dict[str, str] | None = None,
) -> RunReport:
    definitions = load_definitions()
    # The one Definitions object with this run's folders and a progress logger for the CLI.
    run_defs = dg.Definitions(
        assets=definitions.assets,
        asset_checks=definitions.asset_checks,
        jobs=definitions.jobs,
        schedules=definitions.schedules,
        sensors=definitions.sensors,
        executor=definitions.executor,
        metadata=definitions.metadata,
        resources={**(definitions.resources or {}), **build_resources(settings)},
        loggers={**(definitions.loggers or {}), "progress": _progress_logger(on_step)},
    )
    job_def, subset = _job_and_subset(run_defs, job, selection, settings.truth is not None)
    fail_abandoned_runs(instance, settings)
    tags = {
        **(tags or {}),
        "denial_risk/started_by": "cli",
        JOB_TAG: job,
        WAREHOUSE_PATH_TAG: str(settings.warehouse),
    }
    if full_rebuild:
        tags[FULL_REBUILD_TAG] = "true"
    result = job_def.execute_in_process(
        run_config={"loggers": {"progress": {}}},
        instance=instance,
        raise_on_error=False,
        tags=tags,
        asset_selection=list(subset.resolve(run_defs.resolve_asset_graph())) if subset else None,
    )
    return summarise(result)


def summarise(result: dg.ExecuteInProcessResult) -> RunReport:
    """Collect materialization metadata, check outcomes and failed or skipped steps."""
    report = RunReport(success=result.success, run_id=result.run_id)
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        key = materialization.asset_key.to_user_string()
        report.metadata[key] = {k: v.value for k, v in materialization.metadata.items()}
    for evaluation in result.get_asset_check_evaluations():
        report.checks.append(
            CheckOutcome(
                asset=evaluation.asset_key.to_user_string(),
                name=evaluation.check_name,
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                description=evaluation.description or "",
                metadata={k: v.value for k, v in evaluation.metadata.items()},
            )
        )
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            message = root_cause(event.step_failure_data.error)
            report.failed_steps.append((event.step_key or "", message))
        elif event.event_type_value == "STEP_SKIPPED":
            report.skipped_steps.append(event.step_key or "")
    return report
