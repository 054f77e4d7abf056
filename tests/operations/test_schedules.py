"""The schedules emit the right run requests at their ticks, in the configured timezone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._utils.schedules import cron_string_iterator  # the daemon's own tick generator
from dagster_duckdb import DuckDBResource

from pipelines.defs.kpis.assets import monthly_denial_kpis
from pipelines.defs.kpis.schedules import daily_recent_kpis, monthly_kpis_job
from pipelines.defs.operations.schedules import (
    build_daily_ingest_and_score,
    build_monthly_retrain,
    daily_ingest_and_score,
    monthly_retrain,
)


def _ticks(schedule: dg.ScheduleDefinition, after: datetime, n: int) -> list[datetime]:
    it = cron_string_iterator(
        after.timestamp(), schedule.cron_schedule, schedule.execution_timezone or "UTC"
    )
    return [next(it) for _ in range(n)]


def _request(schedule: dg.ScheduleDefinition, tick: datetime) -> dg.RunRequest:
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        data = schedule.evaluate_tick(context)
    assert data.run_requests is not None and len(data.run_requests) == 1
    return data.run_requests[0]


def test_defaults_are_utc_and_stopped() -> None:
    for schedule in (daily_ingest_and_score, monthly_retrain, daily_recent_kpis):
        assert schedule.execution_timezone == "UTC"
        assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert daily_ingest_and_score.job_name == "ingest_and_score_job"
    assert monthly_retrain.job_name == "retrain_job"


def test_daily_ticks_at_six_local_time_across_dst() -> None:
    schedule = build_daily_ingest_and_score("America/Chicago")
    ticks = _ticks(schedule, datetime(2026, 3, 7, 12, 1, tzinfo=UTC), 2)
    # 06:00 in Chicago is 12:00 UTC before the 8 March 2026 DST change and 11:00 UTC after it.
    assert [t.astimezone(UTC).isoformat() for t in ticks] == [
        "2026-03-08T11:00:00+00:00",
        "2026-03-09T11:00:00+00:00",
    ]
    before = _ticks(schedule, datetime(2026, 3, 6, 0, 0, tzinfo=UTC), 1)[0]
    assert before.astimezone(UTC).hour == 12

    request = _request(schedule, ticks[1])
    assert request.run_key == "ingest_and_score:2026-03-09"
    assert request.tags["denial_risk/scheduled_for"] == "2026-03-09T06:00:00-05:00"


def test_monthly_retrain_ticks_on_the_first() -> None:
    schedule = build_monthly_retrain("Europe/Berlin")
    ticks = _ticks(schedule, datetime(2026, 11, 15, tzinfo=UTC), 3)
    assert [t.isoformat() for t in ticks] == [
        "2026-12-01T04:00:00+01:00",
        "2027-01-01T04:00:00+01:00",
        "2027-02-01T04:00:00+01:00",
    ]
    request = _request(schedule, ticks[0])
    assert request.run_key == "retrain:2026-12"


def test_timezone_comes_from_the_environment(monkeypatch) -> None:
    from pipelines.defs.operations.schedules import schedule_timezone

    monkeypatch.setenv("DENIAL_RISK_TIMEZONE", "America/New_York")
    assert schedule_timezone() == "America/New_York"
    monkeypatch.delenv("DENIAL_RISK_TIMEZONE")
    assert schedule_timezone() == "UTC"


def test_daily_kpi_refresh_requests_the_current_and_previous_service_month() -> None:
    tick = datetime(2026, 1, 14, 7, 0, tzinfo=ZoneInfo("UTC"))
    repository = dg.Definitions(
        assets=[monthly_denial_kpis],
        jobs=[monthly_kpis_job],
        schedules=[daily_recent_kpis],
        resources={"warehouse": DuckDBResource(database=":memory:")},
    ).get_repository_def()
    with dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=repository
    ) as context:
        data = daily_recent_kpis.evaluate_tick(context)
    assert [(r.partition_key, r.run_key) for r in data.run_requests] == [
        ("2025-12-01", "kpis:2026-01-14:2025-12-01"),
        ("2026-01-01", "kpis:2026-01-14:2026-01-01"),
    ]
