"""The pre-submission check reads stored note elements, never note text, and refuses stale ones."""

from __future__ import annotations

import duckdb
import pytest

from models.features.documentation import NOTE_ELEMENTS_VERSION
from models.presubmission import ScoringContext
from models.presubmission.context import NoChampionError


def test_history_notes_come_without_text(scoring_context) -> None:
    notes = scoring_context.history.notes
    assert notes.height > 0
    assert "text" not in notes.columns
    assert notes["el_present"].sum() == notes.height


def test_notes_with_outdated_elements_are_refused(world_copy) -> None:
    settings = world_copy.settings
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("UPDATE staged_notes SET elements_version = ?", [NOTE_ELEMENTS_VERSION - 1])
    with pytest.raises(NoChampionError, match="documentation elements"):
        ScoringContext.load(settings.warehouse, settings.models)
