"""The model assets against a real DuckDB file: train, register, score, export."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
from model_table import TEST_FEATURES, make_table, modelling_view

from models.export import EXPORT_COLUMNS
from models.registry import champion_version
from pipelines.defs.model import assets as model_assets
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings


def test_model_assets_train_score_and_export(tmp_path, monkeypatch):
    # The hand-built table stands in for the catalog (the asset reads the feature list as data).
    monkeypatch.setattr(model_assets, "catalog_features", lambda: TEST_FEATURES)
    table = modelling_view(make_table(lines=6000))
    settings = ProductSettings(
        landing=tmp_path / "landing", warehouse=tmp_path / "wh.duckdb", exports=tmp_path / "exports"
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        con.register("t", table.to_arrow())
        con.execute("CREATE TABLE modelling_table AS SELECT * FROM t")
    result = dg.materialize(
        [model_assets.denial_model, model_assets.risk_scores, model_assets.risk_score_export],
        resources=build_resources(settings),
    )
    assert result.success
    meta = {
        e.asset_key.to_user_string(): e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    version = meta["denial_model"]["model_version"].value
    assert (
        meta["denial_model"]["champion_version"].value
        == version
        == champion_version(settings.models)
    )
    assert (
        meta["denial_model"]["roc_auc"].value > meta["denial_model"]["roc_auc_rules_scrubber"].value
    )
    card = settings.models / version / "model_card.md"
    assert "rules_scrubber" in card.read_text()
    assert (settings.models / version / "calibration.png").exists() == Path(
        "/usr/bin/chromium"
    ).exists()
    pending_lines = table.filter(pl.col("denied").is_null()).height
    assert meta["risk_score_export"]["dagster/row_count"].value == pending_lines
    export_path = meta["risk_score_export"]["export_path"].value
    exported = pl.read_csv(export_path, infer_schema=False)
    assert exported.columns == list(EXPORT_COLUMNS)
    manifest = json.loads(Path(export_path).with_suffix(".manifest.json").read_text())
    assert manifest["rows"] == pending_lines and manifest["model_version"] == version
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM risk_scores").fetchone()[0] == pending_lines
        assert (
            con.execute("SELECT count(*) FROM risk_scores_history").fetchone()[0] == pending_lines
        )
        assert con.execute("SELECT bool_and(is_champion) FROM model_registry").fetchone()[0] is True
        preds = con.execute(
            "SELECT count(*), count(DISTINCT model_version) FROM model_validation_predictions"
        ).fetchone()
        assert preds[0] > 0 and preds[1] == 1
