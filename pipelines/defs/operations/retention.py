"""Retention: old billing exports and old Dagster run records are pruned weekly; models are kept."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from pipelines.defs.operations.schedules import schedule_timezone
from pipelines.practices import list_practices, practice_settings, practices_root
from pipelines.settings import ProductSettings

EXPORT_GLOB = "risk_scores_*.csv"
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def expired_exports(exports: Path, now: datetime, keep_days: int, keep_last: int) -> list[Path]:
    """Export CSVs older than `keep_days`, never the newest `keep_last`, plus their manifests."""
    csvs = sorted(exports.glob(EXPORT_GLOB), key=lambda p: p.stat().st_mtime, reverse=True)
    cutoff = (now - timedelta(days=keep_days)).timestamp()
    expired: list[Path] = []
    for csv in csvs[keep_last:]:
        if csv.stat().st_mtime < cutoff:
            manifest = csv.with_suffix(".manifest.json")
            # Manifest first: a reader that finds a manifest can still trust its CSV exists.
            expired.extend([manifest, csv] if manifest.exists() else [csv])
    return expired


def prune_exports(exports: Path, now: datetime, keep_days: int, keep_last: int) -> list[Path]:
    """Delete expired exports (manifest before CSV) and return what was deleted."""
    deleted = expired_exports(exports, now, keep_days, keep_last)
    for path in deleted:
        path.unlink(missing_ok=True)
    return deleted


def prune_runs(instance: dg.DagsterInstance, before: datetime) -> list[str]:
    """Delete finished run records (and their event logs) created before `before`."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=FINISHED, created_before=before)
    )
    run_ids = [record.dagster_run.run_id for record in records]
    for run_id in run_ids:
        instance.delete_run(run_id)
    return run_ids


@dg.op(description="Delete exports and finished run records past their retention.")
def prune_history(context: dg.OpExecutionContext) -> dg.Output[None]:
    """Apply DENIAL_RISK_KEEP_EXPORT_DAYS (90), _KEEP_EXPORTS (30) and _KEEP_RUN_DAYS (180).

    Exports are pruned in the embedded installation and in every practice, each on its own.
    """
    now = datetime.now(UTC)
    root = practices_root()
    folders = [ProductSettings().exports] + [
        practice_settings(root, name).exports for name in list_practices(root)
    ]
    exports = [
        deleted
        for folder in folders
        for deleted in prune_exports(
            folder,
            now,
            keep_days=_env_int("DENIAL_RISK_KEEP_EXPORT_DAYS", 90),
            keep_last=_env_int("DENIAL_RISK_KEEP_EXPORTS", 30),
        )
    ]
    runs = prune_runs(
        context.instance, now - timedelta(days=_env_int("DENIAL_RISK_KEEP_RUN_DAYS", 180))
    )
    return dg.Output(
        None, metadata={"exports_deleted": len(exports), "run_records_deleted": len(runs)}
    )


@dg.job(description="Weekly housekeeping: prune old exports and run records (models are kept).")
def housekeeping_job() -> None:
    prune_history()


weekly_housekeeping = dg.ScheduleDefinition(
    name="weekly_housekeeping",
    job=housekeeping_job,
    cron_schedule="0 3 * * 0",
    execution_timezone=schedule_timezone(),
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
