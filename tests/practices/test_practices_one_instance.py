"""Two practices in one Dagster instance never read each other's files.

A sentinel claim is planted in north's landing folder; both practices run through the real
definitions (DuckDB, GX, LightGBM, exports, snapshot) with only the run tag choosing the practice.
The sentinel, and any path of north's, must appear in none of south's tables, exports or snapshot,
and nothing may be written to the embedded installation's folders. Then the Dagster daemon, on a
PostgreSQL-backed instance (pipelines/deploy/dagster.postgres.yaml), takes a schedule tick and a
landing-sensor tick: both start a run per practice, all finish, and stay in their own files.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from pipelines.defs.operations.jobs import practice_run_tags
from pipelines.practices import PRACTICE_TAG, PRACTICES_ROOT_ENV, practice_settings
from pipelines.runner import RunReport, run_pipeline
from pipelines.settings import ProductSettings
from tests.practices.postgres_server import dagster_postgres_url, fresh_database
from tests.practices.practice_world import (
    SENTINEL_CLAIM,
    build_practice,
    files_mentioning,
    plant_sentinel,
    tables_mentioning,
)


@pytest.fixture(scope="module")
def two_practices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    base = tmp_path_factory.mktemp("practices")
    root = base / "practices"
    mp = pytest.MonkeyPatch()
    mp.setenv(PRACTICES_ROOT_ENV, str(root))
    north = build_practice(root, "north", seed=3)
    build_practice(root, "south", seed=5)
    plant_sentinel(north.landing)
    # The embedded installation: the resources default to these folders, and must not be used.
    default = ProductSettings(
        landing=base / "default" / "landing",
        warehouse=base / "default" / "data" / "warehouse.duckdb",
        exports=base / "default" / "data" / "exports",
    )
    (base / "dagster_home").mkdir()
    instance = dg.DagsterInstance.local_temp(str(base / "dagster_home"))
    reports: dict[str, RunReport] = {}
    for name in ("north", "south"):
        reports[name] = run_pipeline(default, instance=instance, tags=practice_run_tags(name))
    try:
        yield {"root": root, "default": default, "instance": instance, "reports": reports}
    finally:
        instance.dispose()
        mp.undo()


def test_both_practices_complete(two_practices) -> None:
    for name, report in two_practices["reports"].items():
        assert report.completed, (name, report.failed_steps, report.failed_blocking_checks)
        assert report.value("risk_score_export", "dagster/row_count", 0) > 0


def test_sentinel_reaches_its_own_practice_tables_export_and_snapshot(two_practices) -> None:
    north = practice_settings(two_practices["root"], "north")
    assert "staged_claim_lines" in tables_mentioning(north.warehouse, SENTINEL_CLAIM)
    assert "risk_scores" in tables_mentioning(north.warehouse, SENTINEL_CLAIM)
    assert tables_mentioning(north.published_snapshot, SENTINEL_CLAIM)
    assert [p.suffix for p in files_mentioning(north.exports, SENTINEL_CLAIM)] == [".csv"]


def test_other_practice_never_sees_the_sentinel_or_a_north_path(two_practices) -> None:
    root: Path = two_practices["root"]
    south = practice_settings(root, "south")
    north_path = str(root / "north")
    for database in (south.warehouse, south.published_snapshot):
        assert database.exists()
        assert tables_mentioning(database, SENTINEL_CLAIM) == []
        assert tables_mentioning(database, north_path) == []
    assert files_mentioning(root / "south", SENTINEL_CLAIM) == []
    assert files_mentioning(root / "south", north_path) == []
    assert sorted(p.name for p in south.exports.glob("*.csv"))  # south did export its own lines


def test_each_practice_keeps_its_own_registry(two_practices) -> None:
    root: Path = two_practices["root"]
    for name in ("north", "south"):
        settings = practice_settings(root, name)
        assert (settings.models / "champion.json").exists() or any(settings.models.iterdir())
        assert settings.reports.exists()


def test_the_embedded_installation_is_left_untouched(two_practices) -> None:
    default: ProductSettings = two_practices["default"]
    assert not default.warehouse.exists()
    assert not default.exports.exists()
    assert not default.published_snapshot.exists()


def test_runs_are_recorded_with_their_practice(two_practices) -> None:
    instance: dg.DagsterInstance = two_practices["instance"]
    for name in ("north", "south"):
        runs = instance.get_runs(filters=dg.RunsFilter(tags={PRACTICE_TAG: name}))
        assert len(runs) == 1
        assert runs[0].status == dg.DagsterRunStatus.SUCCESS
        assert runs[0].tags["denial_risk/warehouse"] == name


REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER_BIN = Path(sys.executable).parent
DAEMON_TIMEOUT_SECONDS = 900
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")

# Runs of this instance with their practice, trigger, status and times, straight from Postgres.
RUNS_SQL = """
SELECT r.run_id, r.status, r.start_time, r.end_time,
       max(CASE WHEN t.key = %s THEN t.value END) AS practice,
       max(CASE WHEN t.key = 'dagster/schedule_name' THEN 'schedule'
                WHEN t.key = 'dagster/sensor_name' THEN 'sensor' END) AS trigger
FROM runs r JOIN run_tags t ON t.run_id = r.run_id
GROUP BY r.run_id, r.status, r.start_time, r.end_time
"""


def _runs(url: str) -> list[dict[str, object]]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(RUNS_SQL, [PRACTICE_TAG])
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _next_minute_cron(now: datetime) -> str:
    """A cron that fires once, at the next minute boundary after `now`."""
    tick = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return f"{tick.minute} {tick.hour} * * *"


def _wait_for_runs(url: str, daemon: subprocess.Popen, log: Path) -> list[dict[str, object]]:
    wanted = {(p, t) for p in ("north", "south") for t in ("schedule", "sensor")}
    deadline = time.monotonic() + DAEMON_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert daemon.poll() is None, log.read_text()[-4000:]
        runs = _runs(url)
        done = {(r["practice"], r["trigger"]) for r in runs if r["status"] in FINISHED}
        if wanted <= done:
            return runs
        time.sleep(3)
    raise AssertionError(f"runs did not finish: {_runs(url)}\n{log.read_text()[-4000:]}")


@pytest.mark.slow
def test_daemon_on_postgres_runs_a_schedule_and_a_sensor_tick_per_practice(
    two_practices, postgres_server_url: str, tmp_path: Path
) -> None:
    root: Path = two_practices["root"]
    default: ProductSettings = two_practices["default"]
    url = fresh_database(postgres_server_url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "pipelines" / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_module:\n      module_name: pipelines.definitions\n"
        f"      working_directory: {REPO_ROOT}\n"
    )
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": dagster_postgres_url(url),
        PRACTICES_ROOT_ENV: str(root),
        "DENIAL_RISK_TIMEZONE": "UTC",
        "DENIAL_RISK_LANDING_SENSOR_INTERVAL": "5",
        "DENIAL_RISK_LANDING_SETTLE_SECONDS": "0",
        "DENIAL_RISK_LANDING": str(default.landing),
        "DENIAL_RISK_WAREHOUSE": str(default.warehouse),
        "DENIAL_RISK_EXPORTS": str(default.exports),
    }
    exports_before = {
        name: set(practice_settings(root, name).exports.glob("*.csv"))
        for name in ("north", "south")
    }
    for kind, name in (("schedule", "daily_ingest_and_score"), ("sensor", "landing_files_sensor")):
        started = subprocess.run(
            [str(DAGSTER_BIN / "dagster"), kind, "start", name, "-w", str(workspace)],
            env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert started.returncode == 0, started.stdout + started.stderr
    # The daemon's code location ticks once, at the first minute boundary after the schedule was
    # started (a tick that passes while the daemon is still loading is caught up, never one from
    # before the start). The stored schedule state does not depend on the cron.
    daemon_env = {**env, "DENIAL_RISK_DAILY_CRON": _next_minute_cron(datetime.now(UTC))}
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        daemon = subprocess.Popen(
            [str(DAGSTER_BIN / "dagster-daemon"), "run", "-w", str(workspace)],
            env=daemon_env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            runs = _wait_for_runs(url, daemon, log)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()

    finished = [r for r in runs if r["status"] in FINISHED]
    assert {(r["practice"], r["trigger"], r["status"]) for r in finished} == {
        (p, t, "SUCCESS") for p in ("north", "south") for t in ("schedule", "sensor")
    }, log.read_text()[-4000:]
    # The queue kept one writer per practice: a practice's two runs never overlapped.
    for name in ("north", "south"):
        mine = sorted((r["start_time"], r["end_time"]) for r in finished if r["practice"] == name)
        assert mine[0][1] <= mine[1][0], mine

    for name in ("north", "south"):
        new = set(practice_settings(root, name).exports.glob("*.csv")) - exports_before[name]
        assert len(new) >= 2, name  # one export per run, in the practice's own folder
    south = practice_settings(root, "south")
    assert tables_mentioning(south.warehouse, SENTINEL_CLAIM) == []
    assert files_mentioning(root / "south", SENTINEL_CLAIM) == []
    assert files_mentioning(root / "south", str(root / "north")) == []
    north = practice_settings(root, "north")
    assert "risk_scores" in tables_mentioning(north.warehouse, SENTINEL_CLAIM)
    assert not default.warehouse.exists() and not default.exports.exists()
