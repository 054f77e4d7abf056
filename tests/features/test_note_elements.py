"""Per-note documentation elements: stored at load, combined per line, equal to the text features.

A small SYNTHETIC world is ingested through the real assets (DuckDB file, Dagster); the line
features from the stored elements are compared with the text-based definition they replace
(`tests/features/text_reference.py`), and the retention setting is checked both ways.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from data_contracts.warehouse_schema import NOTE_ELEMENT_COLUMNS
from models.features.documentation import (
    _NOTE_KEYS,
    DOC_COLUMNS,
    ELEMENT_COLUMNS,
    NOTE_ELEMENTS_VERSION,
    add_documentation_features,
    completeness_score,
    linked_notes,
    note_elements,
    note_relief,
)
from models.features.table import CLAIM_LINE_COLUMNS, NOTE_COLUMNS, prepare_claim_lines
from pipelines.defs.ingest.assets import reference_tables, staged_claim_lines, staged_notes
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings
from pipelines.sources.synthetic.generate import generate_world
from tests.features.text_reference import text_features, text_note_relief

INGEST = [reference_tables, staged_claim_lines, staged_notes]


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SYNTHETIC landing folder of 3,000 claim lines (copy before changing it)."""
    folder = tmp_path_factory.mktemp("notes_world") / "landing"
    generate_world(folder, lines=3_000, seed=7)
    return folder


def _ingest(landing: Path, data: Path, keep_text: bool) -> ProductSettings:
    data.mkdir(parents=True, exist_ok=True)
    settings = ProductSettings(
        landing=landing,
        warehouse=data / "warehouse.duckdb",
        exports=data / "exports",
        keep_note_text=keep_text,
    )
    assert dg.materialize(INGEST, resources=build_resources(settings)).success
    return settings


@pytest.fixture(scope="module")
def kept(landing: Path, tmp_path_factory: pytest.TempPathFactory) -> ProductSettings:
    """The world ingested with DENIAL_RISK_KEEP_NOTE_TEXT on."""
    return _ingest(landing, tmp_path_factory.mktemp("kept"), keep_text=True)


def _read(settings: ProductSettings, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.sql(sql).pl()


def test_features_from_stored_elements_equal_the_text_features(kept: ProductSettings) -> None:
    columns = ", ".join(f'"{c}"' for c in CLAIM_LINE_COLUMNS)
    lines = prepare_claim_lines(_read(kept, f"SELECT {columns} FROM staged_claim_lines").lazy())
    target = lines.filter(pl.col("cpt_code") == "64520").collect().lazy()
    stored = _read(kept, f"SELECT {', '.join(NOTE_COLUMNS)} FROM staged_notes")
    with_text = _read(kept, "SELECT * FROM staged_notes")
    assert stored.height > 1_000 and with_text["text"].null_count() == 0

    from_elements = add_documentation_features(target, stored.lazy()).collect()
    joined = (
        linked_notes(target, with_text.lazy(), carry=("text",))
        .group_by(_NOTE_KEYS)
        .agg(pl.col("text").str.join("\n"))
    )
    from_text = (
        target.join(text_features(joined).drop("text"), on=_NOTE_KEYS, how="left", nulls_equal=True)
        .with_columns(pl.col("note_present").fill_null(False))
        .with_columns(completeness_score())
        .collect()
    )
    keys = ["claim_id", "line_number"]
    compared = [*keys, *DOC_COLUMNS, "doc_completeness"]
    assert_frame_equal(
        from_elements.select(compared).sort(keys), from_text.select(compared).sort(keys)
    )
    assert from_elements["note_present"].mean() > 0.8
    for name in DOC_COLUMNS:
        assert from_elements[name].drop_nulls().n_unique() > 1, name

    relief = note_relief(stored.lazy()).collect().sort("patient_key", "note_date", "relief_pct")
    reference = text_note_relief(with_text.lazy()).collect()
    assert relief.height > 0
    assert_frame_equal(relief, reference.sort("patient_key", "note_date", "relief_pct"))


def _text_path(target: pl.LazyFrame, notes: pl.DataFrame) -> pl.DataFrame:
    joined = (
        linked_notes(target, notes.lazy(), carry=("text",))
        .group_by(_NOTE_KEYS)
        .agg(pl.col("text").str.join("\n"))
    )
    return (
        target.join(text_features(joined).drop("text"), on=_NOTE_KEYS, how="left", nulls_equal=True)
        .with_columns(pl.col("note_present").fill_null(False))
        .with_columns(completeness_score())
        .collect()
    )


def test_lines_with_several_notes_combine_them_as_their_joined_text(kept: ProductSettings) -> None:
    """The world's notes regrouped three to an encounter: elements combined == joined text."""
    notes = (
        _read(kept, "SELECT note_id, patient_key, note_date, text FROM staged_notes")
        .sort("note_id")
        .with_row_index("_i")
        .with_columns(
            pl.format("ENC-{}", pl.col("_i") // 3).alias("encounter_id"),
            pl.lit("procedure").alias("note_type"),
        )
        .drop("_i")
    )
    target = (
        notes.group_by("encounter_id")
        .agg(pl.col("patient_key").first(), pl.col("note_date").max().alias("service_date"))
        .with_columns(
            pl.col("encounter_id").alias("claim_id"),
            pl.lit(1).alias("line_number"),
            pl.col("service_date").alias("submission_date"),
        )
        .lazy()
    )
    keys = ["claim_id", "line_number"]
    compared = [*keys, *DOC_COLUMNS, "doc_completeness"]
    from_elements = add_documentation_features(target, notes.lazy()).collect()
    assert_frame_equal(
        from_elements.select(compared).sort(keys),
        _text_path(target, notes).select(compared).sort(keys),
    )
    assert from_elements.height > 300


def test_elements_are_computed_per_note_with_the_current_version(kept: ProductSettings) -> None:
    stored = _read(kept, "SELECT * FROM staged_notes")
    assert set(NOTE_ELEMENT_COLUMNS) == set(ELEMENT_COLUMNS)
    assert stored["elements_version"].unique().to_list() == [NOTE_ELEMENTS_VERSION]
    recomputed = note_elements(stored.select("note_id", "text")).drop("text").sort("note_id")
    assert_frame_equal(
        stored.select("note_id", *ELEMENT_COLUMNS).sort("note_id"),
        recomputed,
        check_dtypes=False,
    )


def test_default_clears_note_text_and_the_switch_keeps_it(
    landing: Path, kept: ProductSettings, tmp_path: Path
) -> None:
    cleared = _ingest(landing, tmp_path / "default", keep_text=False)
    notes = _read(cleared, "SELECT * FROM staged_notes")
    assert notes.height == _read(kept, "SELECT count(*) AS n FROM staged_notes")["n"][0]
    assert notes["text"].null_count() == notes.height
    assert notes["el_present"].sum() == notes.height  # elements stored before the text went
    columns = _read(
        cleared,
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'text'",
    )
    assert columns["table_name"].to_list() == ["staged_notes"]
    assert_frame_equal(
        notes.select("note_id", *ELEMENT_COLUMNS).sort("note_id"),
        _read(kept, "SELECT * FROM staged_notes")
        .select("note_id", *ELEMENT_COLUMNS)
        .sort("note_id"),
    )


@pytest.mark.parametrize("keep_text", [True, False])
def test_outdated_elements_are_recomputed(landing: Path, tmp_path: Path, keep_text: bool) -> None:
    """A version bump: kept text is read again; cleared text makes the ledger re-read the file."""
    own = shutil.copytree(landing, tmp_path / "landing")
    settings = _ingest(own, tmp_path / "data", keep_text=keep_text)
    before = _read(settings, "SELECT * FROM staged_notes").sort("note_id")
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            "UPDATE staged_notes SET elements_version = ?, el_indication = NOT el_indication",
            [NOTE_ELEMENTS_VERSION - 1],
        )
    assert dg.materialize(INGEST, resources=build_resources(settings)).success
    after = _read(settings, "SELECT * FROM staged_notes").sort("note_id")
    assert after["elements_version"].unique().to_list() == [NOTE_ELEMENTS_VERSION]
    assert_frame_equal(after.drop("source_row"), before.drop("source_row"), check_row_order=False)
    ledger = _read(settings, "SELECT path, status FROM ingest_ledger WHERE folder = 'notes'")
    assert set(ledger["status"]) == {"loaded"}
