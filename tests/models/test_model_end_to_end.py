"""End to end on a generated world: landing files → ingest → modelling table → model → export."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from models.export import EXPORT_COLUMNS
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings


@pytest.mark.slow
def test_generated_world_model_beats_baselines_out_of_time_and_exports(tmp_path):
    from pipelines.defs.features.assets import modelling_table
    from pipelines.defs.ingest import assets as ingest
    from pipelines.defs.model.assets import denial_model, risk_score_export, risk_scores
    from pipelines.sources.synthetic import generate_world

    landing = tmp_path / "landing"
    truth_path = tmp_path / "truth.parquet"
    generate_world(landing, lines=50_000, seed=11, truth=truth_path, fmt="csv")
    settings = ProductSettings(
        landing=landing,
        warehouse=tmp_path / "wh" / "warehouse.duckdb",
        exports=tmp_path / "exports",
    )
    settings.warehouse.parent.mkdir(parents=True)
    result = dg.materialize(
        [
            ingest.reference_tables,
            ingest.staged_claim_lines,
            ingest.staged_remits,
            ingest.staged_notes,
            ingest.line_outcomes,
            modelling_table,
            denial_model,
            risk_scores,
            risk_score_export,
        ],
        resources=build_resources(settings),
    )
    assert result.success
    meta = {
        e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    model = meta["denial_model"]
    # Out of time: validation months come after every training month.
    # At 50k claim lines LightGBM leads logistic regression by only +0.004 to +0.006 expected
    # ROC AUC (docs/model.md, learning curve), inside the ~0.01 noise of one world's validation
    # months: guard against a clear loss, not against a tie.
    assert model["roc_auc"].value > model["roc_auc_logistic_regression"].value - 0.01
    assert model["roc_auc"].value > model["roc_auc_rules_scrubber"].value + 0.05
    assert model["ece"].value <= 0.05  # the 0.02 target is for the 100k default world

    export_path = meta["risk_score_export"]["export_path"].value
    exported = pl.read_csv(export_path, infer_schema=False)
    assert exported.columns == list(EXPORT_COLUMNS)
    manifest = json.loads(Path(export_path).with_suffix(".manifest.json").read_text())
    assert manifest["rows"] == exported.height > 0
    truth = pl.read_parquet(truth_path)
    pending_truth = truth.filter(pl.col("is_pending")).height
    assert exported.height == pending_truth

    # One planted cause on a clean pending line: bilateral billed as 2 units to a modifier-50 payer.
    import duckdb

    from models.registry import load_champion
    from models.scoring import score_lines

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        table = con.sql("SELECT * FROM modelling_table").pl()
    clean = table.filter(
        pl.col("denied").is_null()
        & (pl.col("payer_bilateral_convention") == "modifier_50")
        & (pl.col("bilateral_coding") == "unilateral")
        & pl.col("prior_auth_present")
        & pl.col("dx_primary_is_indication")
        & ~pl.col("lag_over_filing_limit")
    ).head(1)
    assert clean.height == 1
    planted = clean.with_columns(
        pl.lit(2.0).alias("units"),
        pl.lit(2.0).alias("units_per_day_total"),
        pl.lit(True).alias("units_over_mue"),
        pl.lit("units_gt_1").alias("bilateral_coding"),
        pl.lit(0)
        .cast(clean.schema["bilateral_matches_payer_convention"])
        .alias("bilateral_matches_payer_convention"),
    )
    champion = load_champion(settings.models)
    row = score_lines(champion, planted).row(0, named=True)
    assert row["reason_1"] == "BIL01"
    assert row["reasons"].startswith("this payer pays bilateral 64520 as one line with modifier 50")
    assert (
        row["denial_probability"]
        > score_lines(champion, clean).row(0, named=True)["denial_probability"]
    )
