"""End to end on a small synthetic world: generator -> ingest assets -> modelling_table (~13 s)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from models.features.catalog import feature_names
from models.features.table import (
    CLAIM_LINE_COLUMNS,
    NOTE_COLUMNS,
    OUTCOME_COLUMNS,
    build_modelling_table,
)
from pipelines.defs.features.assets import modelling_table
from pipelines.defs.ingest.assets import (
    line_outcomes,
    reference_tables,
    staged_claim_lines,
    staged_notes,
    staged_remits,
)
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings
from pipelines.sources.synthetic.generate import generate_world


def test_modelling_table_on_a_generated_world(tmp_path: Path) -> None:
    summary = generate_world(tmp_path / "landing", lines=8_000, seed=11)
    settings = ProductSettings(
        landing=tmp_path / "landing",
        warehouse=tmp_path / "warehouse.duckdb",
        exports=tmp_path / "exports",
    )
    ingest = [reference_tables, staged_claim_lines, staged_remits, staged_notes, line_outcomes]
    assert dg.materialize([*ingest, modelling_table], resources=build_resources(settings)).success
    with duckdb.connect(str(settings.warehouse), read_only=True) as conn:
        table = conn.sql("SELECT * FROM modelling_table").pl()
        staged = {
            name: conn.sql(f"SELECT {', '.join(cols)} FROM {name}").pl()
            for name, cols in (
                ("staged_claim_lines", CLAIM_LINE_COLUMNS),
                ("line_outcomes", OUTCOME_COLUMNS),
                ("staged_notes", NOTE_COLUMNS),
            )
        }
    assert table.height == summary.lines_64520
    labelled = table.filter(~pl.col("is_pending"))
    assert labelled["denied"].mean() == pytest.approx(summary.denial_rate_64520, abs=0.01)
    assert table["note_present"].mean() > 0.9
    assert table["doc_level"].null_count() / table.height < 0.1
    y = labelled["denied"].to_numpy()

    def auc(name: str) -> float:
        return roc_auc_score(y, labelled[name].cast(pl.Float64).fill_null(-1).to_numpy())

    # The generator's hazards must be visible through the features (its documented causes).
    assert auc("dx_primary_is_indication") < 0.45
    assert auc("units_per_day_total") > 0.52
    # Weak by design: earlier denials mostly have causes the next claim fixes (0.517 on this world).
    assert auc("patient_prior_denials") > 0.51
    by_dx = labelled.group_by("dx_group").agg(pl.col("denied").mean()).to_dict(as_series=False)
    rate = dict(zip(by_dx["dx_group"], by_dx["denied"], strict=True))
    assert rate["crps_upper_limb"] > rate["crps_lower_limb"]

    # Point in time on real-shaped data: the world cut at a date (claims submitted, remits
    # adjudicated and notes dated before it) gives the lines sent before the cut the same
    # value of every feature as the full world.
    cut = date(2026, 3, 1)
    lines = staged["staged_claim_lines"].filter(pl.col("submission_date") < cut)
    outcomes = staged["line_outcomes"].filter(pl.col("adjudication_date") < cut)
    notes = staged["staged_notes"].filter(pl.col("note_date") < cut)
    part = build_modelling_table(lines.lazy(), outcomes.lazy(), notes.lazy())
    keys = ["claim_id", "line_number"]
    before = part.filter(pl.col("submission_date") < cut).sort(keys)
    full = table.join(before.select(keys), on=keys, how="semi").sort(keys)
    assert before.height > 500 and full.height == before.height
    differing = [n for n in feature_names() if not full[n].eq_missing(before[n]).all()]
    assert differing == []
