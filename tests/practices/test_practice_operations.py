"""Schedules and the landing sensor start one run per practice, tagged with it."""

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from pipelines.defs.kpis.assets import monthly_denial_kpis
from pipelines.defs.kpis.schedules import daily_recent_kpis, monthly_kpis_job
from pipelines.defs.operations.jobs import WAREHOUSE_TAG
from pipelines.defs.operations.schedules import build_daily_ingest_and_score, build_monthly_retrain
from pipelines.defs.operations.sensors import landing_files_sensor
from pipelines.practices import PRACTICE_TAG, PRACTICES_ROOT_ENV, add_practice


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "practices"
    monkeypatch.setenv(PRACTICES_ROOT_ENV, str(root))
    monkeypatch.setenv("DENIAL_RISK_LANDING", str(tmp_path / "default_landing"))
    monkeypatch.setenv("DENIAL_RISK_LANDING_SETTLE_SECONDS", "10")
    add_practice(root, "north")
    add_practice(root, "south")
    return root


def _requests(schedule: dg.ScheduleDefinition, tick: datetime) -> list[dg.RunRequest]:
    # Partitioned run requests are resolved against the repository, as the daemon does.
    repository = dg.Definitions(
        assets=[monthly_denial_kpis],
        jobs=[monthly_kpis_job],
        schedules=[schedule],
        resources={"warehouse": DuckDBResource(database=":memory:")},
    ).get_repository_def()
    with dg.build_schedule_context(
        scheduled_execution_time=tick, repository_def=repository
    ) as context:
        return list(schedule.evaluate_tick(context).run_requests or [])


def _practice_of(request: dg.RunRequest) -> tuple[str, str]:
    return request.tags[PRACTICE_TAG], request.tags[WAREHOUSE_TAG]


def test_daily_and_monthly_ticks_start_one_run_per_practice(root: Path) -> None:
    tick = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    daily = _requests(build_daily_ingest_and_score("UTC"), tick)
    assert [(r.run_key, *_practice_of(r)) for r in daily] == [
        ("ingest_and_score:north:2026-12-01", "north", "north"),
        ("ingest_and_score:south:2026-12-01", "south", "south"),
    ]
    monthly = _requests(build_monthly_retrain("UTC"), tick)
    assert [r.run_key for r in monthly] == ["retrain:north:2026-12", "retrain:south:2026-12"]
    assert all(r.tags["denial_risk/scheduled_for"] == tick.isoformat() for r in daily + monthly)


def test_kpi_tick_covers_two_months_of_every_practice(root: Path) -> None:
    requests = _requests(daily_recent_kpis, datetime(2026, 12, 5, 7, 0, tzinfo=UTC))
    assert sorted((r.tags[PRACTICE_TAG], r.partition_key) for r in requests) == [
        ("north", "2026-11-01"),
        ("north", "2026-12-01"),
        ("south", "2026-11-01"),
        ("south", "2026-12-01"),
    ]
    assert len({r.run_key for r in requests}) == 4


def test_without_practices_the_tick_is_the_embedded_one(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(PRACTICES_ROOT_ENV, str(tmp_path / "none"))
    [request] = _requests(
        build_daily_ingest_and_score("UTC"), datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    )
    assert request.run_key == "ingest_and_score:2026-12-01"
    assert PRACTICE_TAG not in request.tags and WAREHOUSE_TAG not in request.tags


def _land(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    settled = time.time() - 60
    os.utime(path, (settled, settled))


def _tick(cursor: str | None) -> dg.SensorResult:
    with dg.build_sensor_context(cursor=cursor) as context:
        return landing_files_sensor(context)


def test_landing_sensor_starts_runs_only_for_practices_with_new_files(root: Path) -> None:
    assert not _tick(None).run_requests
    _land(root / "north" / "landing" / "claims" / "a.csv", "claim_id\nA\n")
    first = _tick(None)
    assert [_practice_of(r) for r in first.run_requests] == [("north", "north")]
    assert first.run_requests[0].run_key.startswith("north:landing:")
    assert json.loads(first.cursor) == {
        "north:claims/a.csv": json.loads(first.cursor)["north:claims/a.csv"]
    }

    _land(root / "south" / "landing" / "remits" / "r.csv", "claim_id\nR\n")
    _land(root / "south" / "landing" / "claims" / "a.csv", "claim_id\nA\n")  # same name as north's
    second = _tick(first.cursor)
    assert [(_practice_of(r), r.tags["denial_risk/files"]) for r in second.run_requests] == [
        (("south", "south"), "2")
    ]
    assert not _tick(second.cursor).run_requests

    _land(root / "north" / "landing" / "claims" / "a.csv", "claim_id\nA\nB\n")
    _land(root / "south" / "landing" / "notes" / "n.csv", "note_id\nN\n")
    both = _tick(second.cursor)
    assert sorted(_practice_of(r)[0] for r in both.run_requests) == ["north", "south"]


def test_embedded_cursor_keeps_file_names_with_colons(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(PRACTICES_ROOT_ENV, str(tmp_path / "none"))
    monkeypatch.setenv("DENIAL_RISK_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("DENIAL_RISK_LANDING_SETTLE_SECONDS", "10")
    _land(tmp_path / "landing" / "claims" / "claims_2026-12-05T06:00:00.csv", "claim_id\nA\n")
    first = _tick(None)
    assert len(first.run_requests) == 1 and PRACTICE_TAG not in first.run_requests[0].tags
    assert list(json.loads(first.cursor)) == ["claims/claims_2026-12-05T06:00:00.csv"]
    assert not _tick(first.cursor).run_requests
