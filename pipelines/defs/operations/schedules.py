"""Daily ingest-and-score at 06:00 and monthly retraining on the 1st; both start STOPPED.

Each tick starts one run per practice under the practices root (tagged with the practice), or
one run of the embedded installation when there is no practice (docs/operations.md).
"""

import os

import dagster as dg

from pipelines.defs.operations.jobs import ingest_and_score_job, practice_run_tags, retrain_job
from pipelines.practices import practices_root, scheduled_practices

DAILY_CRON = "0 6 * * *"
# 04:00 on the 1st: the new champion is in place before that day's 06:00 scoring run, and the
# warehouse tag limit queues the two runs if retraining runs long (docs/operations.md).
MONTHLY_CRON = "0 4 1 * *"


def schedule_timezone() -> str:
    """IANA timezone of every schedule: env DENIAL_RISK_TIMEZONE, default UTC."""
    return os.environ.get("DENIAL_RISK_TIMEZONE") or "UTC"


def daily_cron() -> str:
    """Cron of the daily run: env DENIAL_RISK_DAILY_CRON, default 06:00."""
    return os.environ.get("DENIAL_RISK_DAILY_CRON") or DAILY_CRON


def practice_run_requests(
    kind: str, period: str, scheduled_for: str, practices: list[str | None]
) -> list[dg.RunRequest]:
    """One run request per practice; the embedded installation keeps its key `kind:period`."""
    return [
        dg.RunRequest(
            run_key=":".join(part for part in (kind, practice, period) if part),
            tags={"denial_risk/scheduled_for": scheduled_for, **practice_run_tags(practice)},
        )
        for practice in practices
    ]


def build_daily_ingest_and_score(
    timezone: str, cron_schedule: str = DAILY_CRON
) -> dg.ScheduleDefinition:
    """The 06:00 ingest-and-score schedule in `timezone`."""

    @dg.schedule(
        name="daily_ingest_and_score",
        cron_schedule=cron_schedule,
        job=ingest_and_score_job,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Ingest new landing files and score pending 64520 lines every morning.",
    )
    def _daily(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        tick = context.scheduled_execution_time
        return practice_run_requests(
            "ingest_and_score",
            tick.date().isoformat(),
            tick.isoformat(),
            scheduled_practices(practices_root()),
        )

    return _daily


def build_monthly_retrain(timezone: str) -> dg.ScheduleDefinition:
    """The retraining schedule (1st of the month) in `timezone`."""

    @dg.schedule(
        name="monthly_retrain",
        cron_schedule=MONTHLY_CRON,
        job=retrain_job,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Train a challenger on all labelled lines; promote it only if it beats the champion.",
    )
    def _monthly(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        tick = context.scheduled_execution_time
        return practice_run_requests(
            "retrain",
            tick.strftime("%Y-%m"),
            tick.isoformat(),
            scheduled_practices(practices_root()),
        )

    return _monthly


daily_ingest_and_score = build_daily_ingest_and_score(schedule_timezone(), daily_cron())
monthly_retrain = build_monthly_retrain(schedule_timezone())
