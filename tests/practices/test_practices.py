"""Practice names, folders and the `denial-risk practice` commands."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.practices import (
    PRACTICES_ROOT_ENV,
    PracticeError,
    add_practice,
    list_practices,
    practice_settings,
    require_practice,
    validate_practice_name,
)


@pytest.mark.parametrize("name", ["north", "clinic-7", "a", "st_marys-2"])
def test_allowed_names(name: str) -> None:
    assert validate_practice_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "North", "../south", "a/b", "-lead", "trail_", "x" * 64, "a b", "é"]
)
def test_refused_names(name: str) -> None:
    with pytest.raises(PracticeError):
        validate_practice_name(name)


def test_practice_folders_are_all_under_its_own_folder(tmp_path: Path) -> None:
    settings = practice_settings(tmp_path, "north")
    base = tmp_path / "north"
    for path in (
        settings.landing,
        settings.warehouse,
        settings.exports,
        settings.models,
        settings.reports,
        settings.data_docs,
        settings.published_snapshot,
        settings.phi_key_file,
        settings.outgoing,
    ):
        assert path.is_relative_to(base), path
    assert settings.truth is None


def test_add_is_idempotent_and_list_sees_only_practices(tmp_path: Path) -> None:
    add_practice(tmp_path, "south")
    add_practice(tmp_path, "north")
    add_practice(tmp_path, "north")
    (tmp_path / "notes-only").mkdir()  # no landing/: not a practice
    (tmp_path / "Bad Name" / "landing").mkdir(parents=True)
    assert list_practices(tmp_path) == ["north", "south"]
    assert sorted(p.name for p in (tmp_path / "north" / "landing").iterdir()) == [
        "claims",
        "notes",
        "remit_adjustments",
        "remits",
    ]
    assert list_practices(tmp_path / "absent") == []


def test_require_names_the_known_practices(tmp_path: Path) -> None:
    add_practice(tmp_path, "north")
    assert require_practice(tmp_path, "north").landing == tmp_path / "north" / "landing"
    with pytest.raises(PracticeError, match="known: north"):
        require_practice(tmp_path, "south")


def test_cli_add_list_and_run_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PRACTICES_ROOT_ENV, str(tmp_path))
    # Wide enough that rich does not wrap the error message inside its box.
    runner = CliRunner(env={"COLUMNS": "300"})
    added = runner.invoke(app, ["practice", "add", "east"])
    assert added.exit_code == 0, added.output
    assert (tmp_path / "east" / "landing" / "claims").is_dir()
    listed = runner.invoke(app, ["practice", "list"])
    assert listed.exit_code == 0 and "east" in listed.output
    refused = runner.invoke(app, ["practice", "add", "../escape"])
    assert refused.exit_code == 2 and not (tmp_path.parent / "escape").exists()
    unknown = runner.invoke(app, ["run", "--practice", "west"])
    assert unknown.exit_code == 2 and "known: east" in unknown.output
    # A known practice without claim files stops before any Dagster work, naming its folder.
    empty = runner.invoke(app, ["run", "--practice", "east"])
    assert empty.exit_code == 2 and "east" in empty.output
