"""The resources follow the run tag: a practice's run writes only its own warehouse file."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.defs.ingest.assets import reference_tables
from pipelines.defs.operations.jobs import practice_run_tags
from pipelines.defs.resources import build_resources
from pipelines.practices import PRACTICES_ROOT_ENV, add_practice
from pipelines.settings import ProductSettings


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, ProductSettings]:
    root = tmp_path / "practices"
    monkeypatch.setenv(PRACTICES_ROOT_ENV, str(root))
    add_practice(root, "north")
    default = ProductSettings(
        landing=tmp_path / "default" / "landing",
        warehouse=tmp_path / "default" / "warehouse.duckdb",
        exports=tmp_path / "default" / "exports",
    )
    default.warehouse.parent.mkdir(parents=True)
    return root, default


def _tables(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def test_tagged_run_writes_the_practice_warehouse_only(setup) -> None:
    root, default = setup
    result = dg.materialize(
        [reference_tables], resources=build_resources(default), tags=practice_run_tags("north")
    )
    assert result.success
    north_tables = _tables(root / "north" / "warehouse.duckdb")
    assert len(north_tables) >= 5, north_tables
    assert not default.warehouse.exists()


def test_untagged_run_is_the_embedded_installation(setup) -> None:
    root, default = setup
    assert dg.materialize([reference_tables], resources=build_resources(default)).success
    assert _tables(default.warehouse)
    assert not (root / "north" / "warehouse.duckdb").exists()


def test_unknown_practice_fails_before_writing_anything(setup) -> None:
    root, default = setup
    result = dg.materialize(
        [reference_tables],
        resources=build_resources(default),
        tags=practice_run_tags("ghost"),
        raise_on_error=False,
    )
    assert not result.success
    assert not (root / "ghost").exists()
    assert not default.warehouse.exists()
