"""Two practices in one Dagster instance never read each other's files.

A sentinel claim is planted in north's landing folder; both practices run through the real
definitions (DuckDB, GX, LightGBM, exports, snapshot) with only the run tag choosing the practice.
The sentinel, and any path of north's, must appear in none of south's tables, exports or snapshot,
and nothing may be written to the embedded installation's folders.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.operations.jobs import practice_run_tags
from pipelines.practices import PRACTICE_TAG, PRACTICES_ROOT_ENV, practice_settings
from pipelines.runner import RunReport, run_pipeline
from pipelines.settings import ProductSettings
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
