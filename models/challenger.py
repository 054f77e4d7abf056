"""One training run end to end: model, baselines, honest metrics, operating point, champion choice.

Kept apart from `train.py` so the asset stays thin and the demo/evaluate commands can reuse it
(with the synthetic truth for the oracle comparison).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.baselines import fit_logistic_baseline, rules_scrubber_score
from models.dataset import FeatureDef, feature_matrix, month_column, pending
from models.evaluate import calibration_curve, oracle_comparison, score_metrics
from models.operating_point import HoldEconomics, choose_hold_threshold, expected_loss
from models.registry import (
    champion_version,
    decide_champion,
    load_model,
    record_decision,
    save_model,
)
from models.train import ModelArtifact, fit

log = logging.getLogger(__name__)


@dataclass
class ChallengerRun:
    """What one training run produced."""

    artifact: ModelArtifact
    validation_predictions: pl.DataFrame
    pending_predictions: pl.DataFrame
    promoted: bool = False
    champion_version: str | None = None
    decision: dict[str, Any] | None = None


def train_and_evaluate(
    frame: pl.DataFrame,
    features: Sequence[FeatureDef],
    params: dict[str, Any] | None = None,
    economics: HoldEconomics | None = None,
    truth: pl.DataFrame | None = None,
    sample_weight: str | None = None,
) -> ChallengerRun:
    """Train the challenger and measure it against the scrubber and logistic regression out of time."""
    features = list(features)
    result = fit(frame, features, params, sample_weight=sample_weight)
    art, split = result.artifact, result.split
    valid = split.valid
    y = valid.get_column("denied").cast(pl.Int64).to_numpy()
    payment = valid.get_column("expected_payment_usd").cast(pl.Float64).fill_null(0.0).to_numpy()

    logreg = fit_logistic_baseline(split.train, features)
    p_model = result.valid_calibrated_oof
    p_scrubber = rules_scrubber_score(valid)
    p_logreg = logreg.predict(valid)

    op = choose_hold_threshold(expected_loss(p_model, payment), y, payment, economics)
    art.operating_point = op
    thr = op["hold_threshold_usd"]
    # The final calibration map is strictly increasing, so the model ranks validation lines as
    # the raw booster does: ranking metrics come from the raw scores, calibration metrics from
    # the cross-fitted probabilities (whose per-fold maps would scramble the ranking across folds).
    model_metrics = score_metrics(y, p_model, payment, thr)
    raw_metrics = score_metrics(y, result.valid_raw)
    model_metrics.update(roc_auc=raw_metrics["roc_auc"], pr_auc=raw_metrics["pr_auc"])
    validation = {
        "model": model_metrics,
        "model_uncalibrated": score_metrics(y, result.valid_raw, payment, thr),
        "logistic_regression": score_metrics(y, p_logreg, payment, thr),
        "rules_scrubber": score_metrics(y, p_scrubber, payment, thr),
    }
    valid_pred = valid.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        month_column(valid, art.data_window["split_by"]).alias("service_month"),
        pl.col("denied").cast(pl.Int8),
        pl.col("expected_payment_usd").cast(pl.Float64),
    ).with_columns(
        pl.Series("p_model", p_model),
        pl.Series("p_scrubber", p_scrubber),
        pl.Series("p_logreg", p_logreg),
    )
    newest = valid_pred.get_column("service_month").max()
    newest_mask = (valid_pred.get_column("service_month") == newest).to_numpy()
    newest_month = {
        name: score_metrics(y[newest_mask], p[newest_mask], payment[newest_mask], thr)
        for name, p in (
            ("model", p_model),
            ("logistic_regression", p_logreg),
            ("rules_scrubber", p_scrubber),
        )
    }

    pend = pending(frame)
    x_pend = feature_matrix(pend, art.features, art.categories)
    pending_pred = pend.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        pl.col("expected_payment_usd").cast(pl.Float64),
    ).with_columns(
        pl.Series("p_model", art.probability(x_pend)),
        pl.Series("p_scrubber", rules_scrubber_score(pend)),
        pl.Series("p_logreg", logreg.predict(pend) if pend.height else np.zeros(0)),
    )

    curve = calibration_curve(y, p_model)
    art.metrics = {
        "validation": validation,
        "newest_month_label": newest.isoformat() if newest else None,
        "newest_month": newest_month,
        "calibration_curve": {c: curve.get_column(c).to_list() for c in curve.columns},
        "beats_baselines": bool(
            validation["model"]["roc_auc"] > validation["logistic_regression"]["roc_auc"]
            and validation["model"]["roc_auc"] > validation["rules_scrubber"]["roc_auc"]
        ),
    }
    if truth is not None and pending_pred.height:
        oracle = oracle_comparison(pending_pred, truth)
        art.metrics["oracle"] = {r["scorer"]: r for r in oracle.to_dicts()}
    log.info(
        "validation ROC AUC model %.4f, logistic %.4f, scrubber %.4f; ECE %.4f",
        validation["model"]["roc_auc"],
        validation["logistic_regression"]["roc_auc"],
        validation["rules_scrubber"]["roc_auc"],
        validation["model"]["ece"],
    )
    return ChallengerRun(art, valid_pred, pending_pred)


def register_challenger(
    run: ChallengerRun, frame: pl.DataFrame, root: Path, calibration_png: bool = True
) -> ChallengerRun:
    """Save the challenger, compare it with the champion on the newest labelled month, record the choice."""
    art = run.artifact
    save_model(art, root, calibration_png=calibration_png)
    current = champion_version(root)
    challenger_newest = art.metrics["newest_month"]["model"]
    champion_newest, evidence_note = None, "no champion yet"
    contested = current is not None and current != art.version
    if contested:
        champion_newest, evidence_note = _champion_newest_month(
            load_model(root, current), run, frame
        )
    if contested and champion_newest is None:
        promoted, reason = False, f"kept the champion: {evidence_note}"
    else:
        promoted, reason = decide_champion(challenger_newest, champion_newest)
    decision = record_decision(
        root,
        art.version,
        promoted,
        reason,
        {
            "challenger_newest_month": challenger_newest,
            "champion_newest_month": champion_newest,
            "champion_evidence": evidence_note,
        },
    )
    run.promoted = promoted
    run.champion_version = decision["champion"]
    run.decision = decision
    return run


def _champion_newest_month(
    champion: ModelArtifact, run: ChallengerRun, frame: pl.DataFrame
) -> tuple[dict[str, float] | None, str]:
    """The champion's fair figures on the newest labelled month, and where they come from.

    None when the champion was refitted on that month and kept no out-of-time record of it.
    """
    from models.scoring import score

    keys = run.validation_predictions.filter(
        pl.col("service_month") == pl.col("service_month").max()
    ).select("claim_id", "line_number")
    lines = frame.with_columns(
        pl.col("claim_id").cast(pl.String), pl.col("line_number").cast(pl.Int64)
    ).join(keys, on=["claim_id", "line_number"], how="semi")
    try:
        p = score(champion, lines)
    except ValueError as exc:
        # A champion that cannot score today's feature schema cannot defend its title.
        log.warning("champion %s cannot score the current table: %s", champion.version, exc)
        lost = {"roc_auc": float("-inf"), "log_loss": float("inf")}
        return lost, "champion cannot score the current feature schema"
    month = run.artifact.metrics["newest_month_label"]
    if month in champion.data_window.get("fitted_months", []):
        # Refitted on this month, the champion would be judged in sample; its own out-of-time
        # record of the month (from its early-stopped booster) is the fair figure.
        if champion.metrics.get("newest_month_label") == month:
            recorded = champion.metrics["newest_month"]["model"]
            return recorded, f"champion fitted on {month}; its out-of-time record of {month} used"
        return None, f"champion fitted on {month} and has no out-of-time record of it"
    y = lines.get_column("denied").cast(pl.Int64).to_numpy()
    return score_metrics(y, p), "champion re-scored on the newest month's lines"


def oracle_table(run: ChallengerRun) -> pl.DataFrame:
    """Rows for `oracle_evaluation` (synthetic only): one per scorer, pending lines vs the truth."""
    oracle = run.artifact.metrics.get("oracle") or {}
    if not oracle:
        return pl.DataFrame()
    return pl.DataFrame(list(oracle.values())).select(
        pl.lit(run.artifact.version).alias("model_version"), "scorer", pl.exclude("scorer")
    )
