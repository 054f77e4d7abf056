"""Unit tests of the model's pure functions on a hand-built modelling table."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from model_table import TEST_FEATURES, make_table, modelling_view

from models.baselines import rules_scrubber_score, scrubber_hits
from models.calibrate import apply_calibration, choose_calibration, fit_isotonic, fit_platt
from models.dataset import (
    FeatureDef,
    category_lists,
    data_hash,
    feature_matrix,
    out_of_time_split,
)
from models.evaluate import dollar_capture, expected_calibration_error, score_metrics
from models.operating_point import HoldEconomics, choose_hold_threshold, risk_band_expr
from models.reasons import REASONS, reason_code, reason_sentence, recommended_fix


def test_categoricals_become_codes_and_unseen_is_null():
    feats = [FeatureDef("plan_type", "categorical", "CONTEXT"), FeatureDef("units", "numeric", "X")]
    train = pl.DataFrame({"plan_type": ["medicare", "commercial", None], "units": [1, 2, None]})
    cats = category_lists(train, feats)
    assert cats == {"plan_type": ["commercial", "medicare"]}
    x = feature_matrix(
        pl.DataFrame({"plan_type": ["medicare", "workers_comp", None], "units": [1.0, 3.0, None]}),
        feats,
        cats,
    )
    assert x[0, 0] == 1.0 and np.isnan(x[1, 0]) and np.isnan(x[2, 0])
    assert x[1, 1] == 3.0 and np.isnan(x[2, 1])


def test_out_of_time_split_uses_newest_labelled_months_for_validation():
    t = modelling_view(make_table(lines=2000, months=6))
    split = out_of_time_split(t, valid_months=2, by="submission_month")
    sub_month = pl.col("submission_date").dt.truncate("1mo")
    assert split.train.select(sub_month.max()).item() < split.valid.select(sub_month.min()).item()
    assert split.valid.get_column("denied").null_count() == 0
    newest_labelled = t.filter(pl.col("denied").is_not_null()).select(sub_month.max()).item()
    assert split.valid_months[-1] == newest_labelled
    by_service = out_of_time_split(t, valid_months=1)
    assert by_service.valid_months == [date(2025, 6, 1)]


def test_data_hash_is_order_independent_and_content_sensitive():
    t = modelling_view(make_table(lines=500, months=4))
    lab = t.filter(pl.col("denied").is_not_null())
    h = data_hash(lab, TEST_FEATURES)
    assert h == data_hash(lab.reverse(), TEST_FEATURES)
    changed = lab.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(9.0).otherwise(pl.col("units")).alias("units")
    )
    assert h != data_hash(changed, TEST_FEATURES)


def test_ece_zero_for_perfect_bins_and_positive_when_off():
    y = np.array([0, 1] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.9)) == pytest.approx(0.4)


def test_dollar_capture_and_lift():
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    el = np.arange(10, 0, -1, dtype=float)  # line 0 ranked first
    payment = np.full(10, 100.0)
    out = dollar_capture(y, el, payment, shares=(0.1, 0.2))
    assert out["capture_top10"] == pytest.approx(0.5)
    assert out["lift_top10"] == pytest.approx(5.0)


def test_score_metrics_precision_recall_at_operating_point():
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.2, 0.8, 0.1])
    m = score_metrics(y, p, np.full(4, 100.0), hold_threshold_usd=50.0)
    assert m["precision_at_op"] == pytest.approx(0.5)
    assert m["recall_at_op"] == pytest.approx(0.5)
    assert m["roc_auc"] == pytest.approx(0.75)


def test_calibration_maps_are_plain_numbers_and_fix_a_biased_score():
    rng = np.random.default_rng(0)
    true_p = rng.uniform(0.01, 0.6, 8000)
    y = (rng.random(8000) < true_p).astype(int)
    biased = np.clip(true_p * 1.5, 0, 0.99)
    cal, oof = choose_calibration(biased, y)
    assert cal["method"] in ("platt", "isotonic")
    assert all(isinstance(v, float) for v in (cal.get("x") or [cal.get("a"), cal.get("b")]))
    assert expected_calibration_error(y, oof) < expected_calibration_error(y, biased) / 2
    iso = fit_isotonic(biased, y)
    assert np.all(np.diff(apply_calibration(iso, np.linspace(0, 1, 50))) >= 0)
    platt = fit_platt(biased, y)
    assert apply_calibration(platt, np.array([0.5]))[0] < 0.5


def test_hold_threshold_maximises_net_dollars():
    el = np.array([90.0, 60.0, 30.0, 10.0])
    denied = np.array([1, 1, 0, 0])
    payment = np.full(4, 100.0)
    op = choose_hold_threshold(
        el, denied, payment, HoldEconomics(rework_cost_usd=25, recovery_rate=0.6)
    )
    # Holding the two denied lines nets 2 × (60 − 25) = 70; holding more only adds rework.
    assert op["hold_threshold_usd"] == 60.0
    assert op["validation_net_usd"] == pytest.approx(70.0)
    bands = pl.DataFrame({"expected_loss_usd": [70.0, 40.0, 5.0]}).select(risk_band_expr(op))
    assert bands.get_column("risk_band").to_list() == ["high", "medium", "low"]


def test_hold_economics_from_env(monkeypatch):
    monkeypatch.setenv("DENIAL_RISK_REWORK_COST_USD", "43.84")
    monkeypatch.setenv("DENIAL_RISK_RECOVERY_RATE", "0.5")
    econ = HoldEconomics.from_env()
    assert econ.rework_cost_usd == 43.84 and econ.recovery_rate == 0.5


def test_scrubber_fires_on_coder_rules():
    frame = pl.DataFrame(
        {
            "units_over_mue": [True, False, False],
            "bilateral_matches_payer_convention": pl.Series([0, 1, None], dtype=pl.Int8),
            "em_same_day_without_25": [False, False, False],
            "plan_type": ["medicare", "commercial", "commercial"],
            "prior_auth_present": [True, True, False],
            "lag_over_filing_limit": [False, False, False],
        }
    )
    hits = scrubber_hits(frame)
    assert hits.get_column("units_over_mue").to_list() == [True, False, False]
    assert hits.get_column("no_auth_where_required").to_list() == [False, False, True]
    score = rules_scrubber_score(frame)
    assert score[0] > 0.9 and score[1] == pytest.approx(0.05) and 0.3 < score[2] < 0.5


def test_every_reason_group_has_a_stable_code_and_specific_bilateral_text():
    codes = [r.code for r in REASONS.values()]
    assert len(codes) == len(set(codes)) == 13
    assert reason_code("BILATERAL_UNITS") == "BIL01"
    row = {"payer_bilateral_convention": "modifier_50", "units": 2.0}
    assert reason_sentence("BILATERAL_UNITS", row).startswith(
        "this payer pays bilateral 64520 as one line with modifier 50 and 1 unit"
    )
    assert "modifier 50 and 1 unit" in recommended_fix("BILATERAL_UNITS", row)
    assert "prior authorization" in recommended_fix("PRIOR_AUTH", {})


def test_duplicate_second_line_and_reused_authorization_get_their_own_words():
    duplicate = {"duplicate_of_earlier_claim": True, "payer_bilateral_convention": "modifier_50"}
    assert "already billed on an earlier claim" in reason_sentence("BILATERAL_UNITS", duplicate)
    assert "corrected claim" in recommended_fix("BILATERAL_UNITS", duplicate)
    second = {"units_billed_earlier_same_day": 1.0, "line_exceeds_mue_cumulative": True}
    assert reason_sentence("BILATERAL_UNITS", second).startswith(
        "1 unit of 64520 already billed for this patient on this day"
    )
    reused = {"prior_auth_present": True, "prior_auth_uses": 3.0}
    assert "already used for 3 earlier 64520 sessions" in reason_sentence("PRIOR_AUTH", reused)
    assert "new or extended authorization" in recommended_fix("PRIOR_AUTH", reused)
    assert reason_sentence("PRIOR_AUTH", {"prior_auth_present": False, "prior_auth_uses": 0})


def test_expected_roc_auc_is_noise_free_and_peaks_at_the_truth():
    from models.evaluate import expected_roc_auc

    rng = np.random.default_rng(3)
    p = rng.uniform(0.0, 1.0, 4000)
    noisy = p + rng.normal(0.0, 0.3, len(p))
    # A monotone transform of the truth ranks as the truth does; noise ranks worse; a score
    # unrelated to the truth sits at 0.5; none beats the truth.
    assert expected_roc_auc(p**3, p) == pytest.approx(expected_roc_auc(p, p))
    assert expected_roc_auc(noisy, p) < expected_roc_auc(p, p) - 0.05
    assert expected_roc_auc(rng.uniform(size=len(p)), p) == pytest.approx(0.5, abs=0.02)
    # Two lines by hand: each line is a denied copy (weight p) and a paid copy (weight 1 - p);
    # pairs of a line with itself tie (half credit). (0.9*0.1/2 + 0.9*0.8 + 0.2*0.8/2) / (1.1*0.9).
    two = expected_roc_auc(np.array([1.0, 0.0]), np.array([0.9, 0.2]))
    assert two == pytest.approx(0.845 / 0.99)


def test_target_results_state_each_target_and_whether_it_is_met():
    from models.evaluate import target_results

    oracle = {
        "model": {"roc_auc": 0.831, "expected_roc_auc": 0.839, "ece": 0.018},
        "logistic_regression": {"roc_auc": 0.824},
        "rules_scrubber": {"roc_auc": 0.662},
        "oracle": {"roc_auc": 0.852, "expected_roc_auc": 0.855},
    }
    rows = {r["target"].split(" ")[0] + str(i): r for i, r in enumerate(target_results(oracle))}
    met = [r["met"] for r in rows.values()]
    # gap 0.021 > 0.015: missed; ECE 0.018: met; +0.169 over the scrubber: met; above logistic:
    # met; expected gap 0.016 > 0.015: missed.
    assert met == [False, True, True, True, False]
    assert "gap 0.0210" in rows["ROC0"]["measured"]
    oracle["model"]["roc_auc"] = 0.840
    assert target_results(oracle)[0]["met"] is True
    # With the pending means: 0.236 against a realized 0.221 is outside ±0.01.
    oracle["model"].update(mean_probability=0.236, denial_rate=0.221)
    mean_row = next(r for r in target_results(oracle) if r["target"].startswith("mean"))
    assert mean_row["met"] is False and "0.2360 vs 0.2210" in mean_row["measured"]
