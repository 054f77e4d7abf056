"""Training, explanations, registry, scoring and the export on the hand-built table."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from datetime import UTC, date, datetime

import polars as pl
import pytest
from model_table import TEST_FEATURES, modelling_view

from models.challenger import register_challenger
from models.dataset import pending
from models.export import EXPORT_COLUMNS, export_frame, write_export, write_export_batches
from models.registry import champion_version, decide_champion, load_champion, load_model
from models.scoring import FeatureSchemaError, score, score_lines


def test_model_beats_both_baselines_out_of_time_and_is_calibrated(trained_run):
    v = trained_run.artifact.metrics["validation"]
    assert v["model"]["roc_auc"] > v["logistic_regression"]["roc_auc"]
    assert v["model"]["roc_auc"] > v["rules_scrubber"]["roc_auc"]
    assert v["model"]["ece"] <= 0.03
    oracle = trained_run.artifact.metrics["oracle"]
    assert oracle["model"]["roc_auc"] > oracle["rules_scrubber"]["roc_auc"]
    assert oracle["oracle"]["roc_auc"] - oracle["model"]["roc_auc"] < 0.03
    assert trained_run.artifact.operating_point["hold_threshold_usd"] > 0


def _planted_bilateral_line(table: pl.DataFrame) -> pl.DataFrame:
    base = (
        pending(modelling_view(table))
        .filter((pl.col("payer_id") == "MCR01") & (pl.col("bilateral_coding") == "unilateral"))
        .head(1)
    )
    return base.with_columns(
        pl.lit("PLANTED").alias("claim_id"),
        pl.lit(2.0).alias("units"),
        pl.lit(True).alias("units_over_mue"),
        pl.lit("units_gt_1").alias("bilateral_coding"),
        pl.lit(0).cast(pl.Int8).alias("bilateral_matches_payer_convention"),
        pl.lit(True).alias("prior_auth_present"),
        pl.lit(True).alias("dx_primary_is_indication"),
        pl.lit(0.9).alias("doc_completeness"),
        pl.lit(False).alias("em_same_day_without_25"),
        pl.lit(False).alias("lag_over_filing_limit"),
        pl.lit(5.0).alias("submission_lag_days"),
    )


def test_planted_bilateral_units_line_gets_that_reason_first(trained_run, small_table):
    line = _planted_bilateral_line(small_table)
    out = score_lines(trained_run.artifact, line)
    row = out.row(0, named=True)
    assert row["reason_1"] == "BIL01"
    assert row["reasons"].startswith("this payer pays bilateral 64520 as one line with modifier 50")
    assert row["denial_probability"] > 0.4
    assert row["risk_band"] == "high"
    assert (
        row["recommended_action"]
        == "rebill bilateral 64520 as one line with modifier 50 and 1 unit"
    )


def test_scoring_rejects_a_different_feature_schema(trained_run, small_table):
    frame = pending(modelling_view(small_table))
    with pytest.raises(
        FeatureSchemaError,
        match=r"missing features \['doc_completeness'\].*extra features \['new_feature'\]",
    ):
        score(
            trained_run.artifact,
            frame.drop("doc_completeness").with_columns(pl.lit(1.0).alias("new_feature")),
        )


def test_registry_roundtrip_champion_and_scoring_same_probabilities(
    trained_run, small_table, tmp_path
):
    frame = modelling_view(small_table)
    run = register_challenger(trained_run, frame, tmp_path, calibration_png=False)
    assert run.promoted and champion_version(tmp_path) == run.artifact.version
    folder = tmp_path / run.artifact.version
    assert {"model.txt", "metadata.json", "model_card.md"} <= {p.name for p in folder.iterdir()}
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["feature_order"] == [f.name for f in TEST_FEATURES]
    assert meta["calibration"]["method"] in ("platt", "isotonic")
    assert "rules_scrubber" in meta["metrics"]["validation"]
    assert "oracle" in meta["metrics"]
    loaded = load_champion(tmp_path)
    pend = pending(frame)
    assert score(loaded, pend) == pytest.approx(score(trained_run.artifact, pend), abs=1e-9)
    assert (
        load_model(tmp_path, run.artifact.version).operating_point == run.artifact.operating_point
    )
    decisions = (tmp_path / "decisions.jsonl").read_text().splitlines()
    assert json.loads(decisions[-1])["promoted"] is True


def test_champion_rule_keeps_champion_when_challenger_is_worse_beyond_margin():
    champ = {"roc_auc": 0.80, "log_loss": 0.30}
    assert decide_champion({"roc_auc": 0.797, "log_loss": 0.301}, champ)[0] is True
    assert decide_champion({"roc_auc": 0.79, "log_loss": 0.30}, champ)[0] is False
    assert decide_champion({"roc_auc": 0.81, "log_loss": 0.40}, champ)[0] is False
    assert decide_champion({"roc_auc": 0.5, "log_loss": 1.0}, None)[0] is True


def test_export_and_manifest_match_the_contract(trained_run, small_table, tmp_path):
    frame = pending(modelling_view(small_table))
    scored = score_lines(
        trained_run.artifact, frame, scored_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    res = write_export(
        scored,
        tmp_path,
        trained_run.artifact.version,
        now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert res.path.name == "risk_scores_20260102T030405Z.csv"
    manifest = json.loads(res.manifest_path.read_text())
    assert res.manifest_path.name == "risk_scores_20260102T030405Z.manifest.json"
    body = res.path.read_bytes()
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest()
    assert manifest["rows"] == frame.height
    assert manifest["columns"] == list(EXPORT_COLUMNS)
    assert manifest["model_version"] == trained_run.artifact.version
    assert manifest["generated_at"] == "2026-01-02T03:04:05Z"
    rows = list(csv.DictReader(body.decode().splitlines()))
    assert len(rows) == frame.height and list(rows[0]) == list(EXPORT_COLUMNS)
    losses = [float(r["expected_loss_usd"]) for r in rows]
    assert losses == sorted(losses, reverse=True)
    assert all(0.0 <= float(r["denial_probability"]) <= 1.0 for r in rows)
    assert {r["risk_band"] for r in rows} <= {"low", "medium", "high"}
    assert all(r["cpt_code"] == "64520" for r in rows)
    assert rows[0]["scored_at"] == "2026-01-02T03:04:05Z"
    assert date.fromisoformat(rows[0]["service_date"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [res.path.name, res.manifest_path.name]


def test_interrupted_export_leaves_no_csv(trained_run, small_table, tmp_path):
    frame = export_frame(score_lines(trained_run.artifact, pending(modelling_view(small_table))))

    def batches_then_failure():
        yield frame.head(100)
        raise RuntimeError("disk went away")

    with pytest.raises(RuntimeError, match="disk went away"):
        write_export_batches(batches_then_failure(), tmp_path, "m-test")
    assert list(tmp_path.glob("risk_scores_*.csv")) == []
    assert list(tmp_path.iterdir()) == []


def test_challenger_worse_on_newest_month_stays_challenger(trained_run, small_table, tmp_path):
    frame = modelling_view(small_table)
    first = register_challenger(trained_run, frame, tmp_path, calibration_png=False)
    champion = first.artifact.version
    weak_metrics = {
        **first.artifact.metrics,
        "newest_month": {"model": {"roc_auc": 0.55, "log_loss": 0.69}},
    }
    weak = dataclasses.replace(
        first, artifact=dataclasses.replace(first.artifact, version="m-weak", metrics=weak_metrics)
    )
    decided = register_challenger(weak, frame, tmp_path, calibration_png=False)
    assert decided.promoted is False and champion_version(tmp_path) == champion
    assert "champion" in decided.decision["reason"]
    # The champion was refitted on the newest month, so its in-sample re-score is not used: the
    # comparison takes its own out-of-time record of that month.
    evidence = decided.decision["evidence"]
    assert "out-of-time record" in evidence["champion_evidence"]
    assert evidence["champion_newest_month"] == pytest.approx(
        first.artifact.metrics["newest_month"]["model"]
    )
    same = dataclasses.replace(
        first, artifact=dataclasses.replace(first.artifact, version="m-same")
    )
    assert register_challenger(same, frame, tmp_path, calibration_png=False).promoted is True
    assert champion_version(tmp_path) == "m-same"
    assert len((tmp_path / "decisions.jsonl").read_text().splitlines()) == 3


def test_shipped_booster_is_refitted_on_every_labelled_month(trained_run, small_table):
    art = trained_run.artifact
    window = art.data_window
    assert window["fitted_months"] == window["train_months"] + window["valid_months"]
    assert art.counts["fitted_lines"] == art.counts["train_lines"] + art.counts["valid_lines"]
    assert art.best_iteration == round(window["early_stopped_rounds"] * 1.15)
    assert art.booster.current_iteration() == art.best_iteration
    # The validation metrics come from the early-stopped booster, which never saw those months:
    # the refitted booster ranks them better, in sample.
    valid = trained_run.validation_predictions
    from sklearn.metrics import roc_auc_score

    in_sample = score(
        art,
        modelling_view(small_table)
        .join(valid.select("claim_id", "line_number"), on=["claim_id", "line_number"], how="semi")
        .sort("claim_id", "line_number"),
    )
    ordered = valid.sort("claim_id", "line_number")
    y = ordered.get_column("denied").to_numpy()
    assert art.metrics["validation"]["model"]["roc_auc"] < roc_auc_score(y, in_sample)


def test_oracle_table_has_one_row_per_scorer(trained_run):
    from models.challenger import oracle_table

    table = oracle_table(trained_run)
    assert sorted(table.get_column("scorer").to_list()) == [
        "logistic_regression",
        "model",
        "oracle",
        "rules_scrubber",
    ]
    assert table.get_column("model_version").unique().to_list() == [trained_run.artifact.version]
    oracle_auc = table.filter(pl.col("scorer") == "oracle").get_column("roc_auc").item()
    assert 0.8 < oracle_auc <= 1.0
