"""Model v2 (issue 17): calibration under censoring and shift, the small-practice fallback,
`low_data`, and the oracle comparison as a Dagster asset."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest
from model_table import TEST_FEATURES, make_table, modelling_view, true_logit, truth_of

from models.calibrate import apply_calibration, choose_calibration
from models.dataset import feature_matrix
from models.export import EXPORT_COLUMNS, export_frame
from models.registry import load_model, model_card, save_model
from models.scoring import score_lines
from models.train import (
    MIN_LABELLED_LINES_FOR_TREES,
    MIN_PAYER_LABELLED_LINES,
    fit,
    model_kind_for,
)


def _censored_shifted_table(seed: int = 5) -> tuple[pl.DataFrame, np.ndarray]:
    """Pending months with more lines lacking authorization (a higher base rate the features
    explain) and two censored months before them where denials came back fast, paid lines slowly."""
    t = make_table(lines=9000, months=14, seed=seed)
    # Another stream than make_table's: reusing its seed would correlate these draws with its.
    rng = np.random.default_rng(seed + 1000)
    months = t.get_column("submission_date").dt.truncate("1mo")
    ordered = months.unique().sort()
    pending_months = months >= ordered[-3]
    drop_auth = pending_months.to_numpy() & (rng.random(t.height) < 0.6)
    t = t.with_columns(
        pl.Series("prior_auth_present", t["prior_auth_present"].to_numpy() & ~drop_auth)
    )
    p = 1 / (1 + np.exp(-true_logit(t)))
    drawn = (rng.random(t.height) < p).astype(np.int8)
    censored = ((months == ordered[-4]) | (months == ordered[-5])).to_numpy()
    slow_paid = censored & (drawn == 0) & (rng.random(t.height) < 0.6)
    pending = pending_months.to_numpy() | slow_paid
    table = t.with_columns(
        pl.Series("true_probability", p),
        pl.Series("_drawn", drawn),
        pl.Series("is_pending", pending),
        pl.Series("denied", drawn, dtype=pl.Int8),
        pl.Series("status", np.where(pending, "pending", np.where(drawn == 1, "denied", "paid"))),
    ).with_columns(
        pl.when(pl.col("is_pending")).then(None).otherwise(pl.col("denied")).alias("denied")
    )
    return table, pending_months.to_numpy()


def test_calibration_follows_the_pending_truth_despite_censoring_and_a_base_rate_shift():
    table, newest = _censored_shifted_table()
    # The newest months' lines: unselected (every one pending), with a higher base rate that
    # the features explain. (The censored months' slowly paid lines wait too; selected on their
    # outcome, no model can tell them apart, so they are not the yardstick.)
    pend = table.filter(pl.Series(newest))
    labelled = table.filter(pl.col("denied").is_not_null())
    assert pend["true_probability"].mean() > labelled["true_probability"].mean() + 0.03
    result = fit(modelling_view(table), TEST_FEATURES, {"model_kind": "trees"})
    art = result.artifact
    x = feature_matrix(pend, art.features, art.categories)
    truth_mean = pend["true_probability"].mean()
    # The promise (docs/model.md "Calibration"): the map is fitted on out-of-fold scores of matured
    # months only, so a shift the features explain is followed and censoring does not move it.
    assert art.calibration["matured_lines"] < labelled.height
    assert abs(art.probability(x).mean() - truth_mean) < 0.02
    # The old recipe (map fitted on the newest three labelled months) is pulled by the censored
    # months' fast denials.
    y_valid = result.split.valid.get_column("denied").cast(pl.Int64).to_numpy()
    old_map, _ = choose_calibration(result.valid_raw, y_valid)
    old_mean = apply_calibration(old_map, art.raw_probability(x)).mean()
    assert old_mean - truth_mean > 0.03


def test_fallback_switches_at_the_documented_size_and_the_card_says_so(tmp_path):
    assert model_kind_for(MIN_LABELLED_LINES_FOR_TREES - 1) == "linear"
    assert model_kind_for(MIN_LABELLED_LINES_FOR_TREES) == "trees"
    small = make_table(lines=2500, seed=3)
    labelled = small.filter(pl.col("denied").is_not_null()).height
    assert labelled < MIN_LABELLED_LINES_FOR_TREES
    from models.challenger import train_and_evaluate

    art = train_and_evaluate(modelling_view(small), TEST_FEATURES).artifact
    assert art.model_kind == "logistic_regression" and art.booster is None
    pend = modelling_view(small).filter(pl.col("denied").is_null())
    scored = score_lines(art, pend)
    assert scored.height == pend.height
    assert scored["denial_probability"].is_between(0, 1).all()
    # Same explanation path: the planted mechanism's groups come out as reasons.
    assert scored["reason_1"].drop_nulls().len() > 0.5 * pend.height
    folder = save_model(art, tmp_path)
    assert not (folder / "model.txt").exists()
    again = load_model(tmp_path, art.version)
    x = feature_matrix(pend, art.features, art.categories)
    np.testing.assert_allclose(again.probability(x), art.probability(x))
    card = model_card(art, None)
    assert "Regularised logistic regression" in card
    assert f"fewer than {MIN_LABELLED_LINES_FOR_TREES:,} labelled lines" in card
    assert "**logistic_regression**" in card
    assert json.loads((folder / "metadata.json").read_text())["model_kind"] == (
        "logistic_regression"
    )


def test_the_small_practice_fallback_honours_sample_weights():
    # Policy-change weights (monitoring/weights.py) reach the logistic regression as they reach
    # the trees: denied lines weighted 10x pull every line's raw probability up.
    view = modelling_view(make_table(lines=2500, seed=3))
    weighted = view.with_columns(
        pl.when(pl.col("denied") == 1).then(10.0).otherwise(1.0).alias("policy_change_weight")
    )
    plain = fit(view, TEST_FEATURES).artifact
    heavy = fit(weighted, TEST_FEATURES, sample_weight="policy_change_weight").artifact
    assert plain.model_kind == heavy.model_kind == "logistic_regression"
    x = feature_matrix(view, plain.features, plain.categories)
    assert heavy.raw_probability(x).mean() > plain.raw_probability(x).mean() + 0.1


def test_low_data_marks_lines_of_payers_with_few_labelled_lines(trained_run, small_table):
    art = trained_run.artifact
    counts = art.data_window["payer_labelled_lines"]
    assert min(counts.values()) >= MIN_PAYER_LABELLED_LINES
    pend = modelling_view(small_table).filter(pl.col("denied").is_null()).head(40)
    renamed = pend.with_columns(
        pl.when(pl.int_range(pl.len()) < 5)
        .then(pl.lit("NEW99"))
        .otherwise(pl.col("payer_id"))
        .alias("payer_id")
    )
    # A payer the model saw with too few labelled lines counts as low data too.
    art.data_window["payer_labelled_lines"] = {**counts, "COM02": MIN_PAYER_LABELLED_LINES - 1}
    try:
        scored = score_lines(art, renamed)
    finally:
        art.data_window["payer_labelled_lines"] = counts
    expected = scored["payer_id"].is_in(["NEW99", "COM02"])
    assert scored["low_data"].to_list() == expected.to_list()
    assert scored["low_data"].sum() >= 5
    exported = export_frame(scored)
    assert exported.columns == list(EXPORT_COLUMNS) and "low_data" in exported.columns


@pytest.fixture
def warehouse_with_table(tmp_path):
    from pipelines.settings import ProductSettings

    table = make_table(lines=6000, seed=2)
    truth = tmp_path / "truth.csv"
    truth_of(table).write_csv(truth)
    settings = ProductSettings(
        landing=tmp_path / "landing",
        warehouse=tmp_path / "wh.duckdb",
        exports=tmp_path / "exports",
        truth=truth,
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        con.register("t", modelling_view(table).to_arrow())
        con.execute("CREATE TABLE modelling_table AS SELECT * FROM t")
    return settings, table


def test_oracle_evaluation_materializes_through_dagster(warehouse_with_table, monkeypatch):
    from pipelines.defs.model import assets as model_assets
    from pipelines.defs.model.oracle import oracle_evaluation
    from pipelines.defs.resources import build_resources

    settings, table = warehouse_with_table
    monkeypatch.setattr(model_assets, "catalog_features", lambda: TEST_FEATURES)
    result = dg.materialize(
        [model_assets.denial_model, model_assets.risk_scores, oracle_evaluation],
        resources=build_resources(settings),
    )
    assert result.success
    meta = result.asset_materializations_for_node("oracle_evaluation")[0].metadata
    pending = table.filter(pl.col("denied").is_null()).height
    assert meta["pending_lines"].value == pending
    assert 0.6 < meta["roc_auc"].value <= meta["oracle_roc_auc"].value + 0.02
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        scorers = {r[0] for r in con.execute("SELECT scorer FROM oracle_evaluation").fetchall()}
    assert scorers == {"model", "logistic_regression", "rules_scrubber", "oracle"}
    version = meta["model_version"].value
    card = (Path(settings.models) / version / "model_card.md").read_text()
    assert "Pending lines against the synthetic truth" in card


def test_oracle_evaluation_fails_without_a_truth_file(warehouse_with_table, monkeypatch):
    from dataclasses import replace

    from pipelines.defs.model import assets as model_assets
    from pipelines.defs.model.oracle import oracle_evaluation
    from pipelines.defs.resources import build_resources

    settings, _ = warehouse_with_table
    monkeypatch.setattr(model_assets, "catalog_features", lambda: TEST_FEATURES)
    result = dg.materialize(
        [model_assets.denial_model, model_assets.risk_scores, oracle_evaluation],
        resources=build_resources(replace(settings, truth=None)),
        raise_on_error=False,
    )
    assert not result.success
    assert result.asset_materializations_for_node("oracle_evaluation") == []
