"""Daily refresh of the two most recent service months' KPIs (late remits change them)."""

import dagster as dg

from pipelines.defs.kpis.assets import monthly_denial_kpis, service_month_partitions
from pipelines.defs.operations.jobs import WAREHOUSE_RUN_TAGS, practice_run_tags
from pipelines.defs.operations.schedules import schedule_timezone
from pipelines.practices import practices_root, scheduled_practices

monthly_kpis_job = dg.define_asset_job(
    name="monthly_kpis_job",
    selection=[monthly_denial_kpis],
    description="Recompute one service month's denial KPIs (backfill a range from the UI).",
    tags=WAREHOUSE_RUN_TAGS,
    executor_def=dg.in_process_executor,
)


@dg.schedule(
    cron_schedule="0 7 * * *",
    job=monthly_kpis_job,
    execution_timezone=schedule_timezone(),
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def daily_recent_kpis(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    """After the 06:00 ingest, recompute the month in progress and the month before it (per practice)."""
    keys = service_month_partitions.get_partition_keys(
        current_time=context.scheduled_execution_time
    )[-2:]
    day = context.scheduled_execution_time.date().isoformat()
    return [
        dg.RunRequest(
            run_key=":".join(part for part in ("kpis", practice, day, key) if part),
            partition_key=key,
            tags=practice_run_tags(practice),
        )
        for practice in scheduled_practices(practices_root())
        for key in keys
    ]
