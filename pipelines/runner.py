"""Run the whole asset graph in-process (the same definitions the schedules use) and summarise it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings

FULL_RUN_JOB = "full_run"

StepCallback = Callable[[str, str], None]
"""Called with (event, step_key) for step_start, step_success, step_failure and step_skipped."""


@dataclass
class CheckOutcome:
    asset: str
    name: str
    passed: bool
    severity: str
    description: str


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

    def value(self, asset: str, key: str, default: Any = None) -> Any:
        return self.metadata.get(asset, {}).get(key, default)

    @property
    def exit_code(self) -> int:
        if not self.success or self.failed_blocking_checks or self.failed_steps:
            return 1
        return 1 if self.rejected_files else 0


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


def _unpartitioned_assets(definitions: dg.Definitions, with_truth: bool) -> dg.AssetSelection:
    """Every unpartitioned asset; the synthetic-only oracle comparison only when a truth is set."""
    graph = definitions.resolve_asset_graph()
    keys = [
        key
        for key in graph.get_all_asset_keys()
        if not graph.get(key).is_partitioned
        and (with_truth or key.to_user_string() != ORACLE_ASSET)
    ]
    return dg.AssetSelection.assets(*keys)


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


def run_pipeline(
    settings: ProductSettings,
    *,
    selection: dg.AssetSelection | None = None,
    on_step: StepCallback | None = None,
    instance: dg.DagsterInstance | None = None,
) -> RunReport:
    """Materialize every unpartitioned asset (or `selection`) with its checks, in one process."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    definitions = load_definitions()
    job = dg.define_asset_job(
        FULL_RUN_JOB,
        selection=selection or _unpartitioned_assets(definitions, settings.truth is not None),
        executor_def=dg.in_process_executor,
    )
    run_defs = dg.Definitions(
        assets=definitions.assets,
        asset_checks=definitions.asset_checks,
        jobs=[job],
        resources=build_resources(settings),
        loggers={"progress": _progress_logger(on_step)},
    )
    result = run_defs.resolve_job_def(FULL_RUN_JOB).execute_in_process(
        run_config={"loggers": {"progress": {}}},
        instance=instance,
        raise_on_error=False,
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
            )
        )
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            message = root_cause(event.step_failure_data.error)
            report.failed_steps.append((event.step_key or "", message))
        elif event.event_type_value == "STEP_SKIPPED":
            report.skipped_steps.append(event.step_key or "")
    return report
