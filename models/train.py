"""Train the LightGBM denial-risk model out of time, with early stopping and calibration.

Trees are kept small (num_leaves 15, max_depth 4, at most 100 rounds, 115 after the refit)
because LightGBM's SHAP (`pred_contrib`) cost grows with leaves and depth (STACK-NOTES "LightGBM
SHAP is slow": ~50 s per 1M rows × 50 features × 100 trees at 15 leaves / depth 4 on 2 threads);
explanations must run at ≥ 10,000 lines/s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from models.calibrate import apply_calibration, choose_calibration
from models.dataset import (
    FeatureDef,
    Split,
    catalog_features,
    category_lists,
    data_hash,
    feature_matrix,
    month_column,
    out_of_time_split,
)
from models.linear import fit_linear, linear_contributions, linear_probability

log = logging.getLogger(__name__)

SEED = 20261126

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.15,
    "num_leaves": 15,
    "max_depth": 4,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "min_data_per_group": 50,
    "max_cat_to_onehot": 8,
    "seed": SEED,
    "bagging_seed": SEED,
    "feature_fraction_seed": SEED,
    "data_random_seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    # One thread: on a shared 2-core machine OpenMP spin-waiting made 2 threads ~5x slower (measured).
    "num_threads": 1,
    "verbose": -1,
    # Not LightGBM parameters: how this module drives training.
    # At most 100 trees of depth 4: on the 100k world this cost ~0.006 pending ROC AUC against
    # 270 trees of depth 5 (within noise) and cut prediction and SHAP time ~3x (docs/model.md).
    "num_boost_round": 100,
    "early_stopping_rounds": 20,
    # Three months (~3.5k lines on the default world) for early stopping and the cross-fitted
    # calibration choice; two months left ~2.3k lines and a noisier calibration (docs/model.md).
    "valid_months": 3,
    # Pending lines are the ones submitted most recently (remits not back yet), so splitting by
    # submission month keeps validation months fully labelled; service months near the cut would
    # hold only the fast-adjudicated lines.
    "split_by": "submission_month",
    # After early stopping picks the tree count on the validation months, the shipped booster is
    # refitted on train + validation months with this many times that count (18% more lines
    # support a few more trees). Four 100k worlds: pending ROC AUC gap to the oracle 0.0198 ->
    # 0.0149 on average, expected-AUC gap 0.0188 -> 0.0166 (docs/model.md "Refit"). 0 disables.
    "refit_round_factor": 1.15,
    # "auto": depth-4 trees from MIN_LABELLED_LINES_FOR_TREES labelled lines up, the linear
    # fallback below (docs/model.md "Small practices"); "trees" or "linear" force one.
    "model_kind": "auto",
    # Calibration map fitted on out-of-fold scores of the shipped recipe (docs/model.md
    # "Calibration"): folds over claims, each fold's booster trained like the refit booster.
    "calibration_folds": 5,
}
_DRIVER_KEYS = (
    "num_boost_round",
    "early_stopping_rounds",
    "valid_months",
    "split_by",
    "refit_round_factor",
    "model_kind",
    "calibration_folds",
)

# Below this many labelled lines the artifact carries an L2-regularised logistic regression
# (`models.linear`) instead of LightGBM: same feature matrix, same calibration recipe, same
# scoring and explanation path. Learning curve (benchmarks/learning_curve.py, docs/model.md
# "Small practices", 2 seeds per size): the fallback ranked better up to 4.5k labelled lines on
# the project's worlds (expected ROC AUC +0.014) and 2.1k on the independent ones (+0.030);
# LightGBM ranked better from 10.3k-11.4k on both. The switch sits between the two.
MIN_LABELLED_LINES_FOR_TREES = 7_000
# A payer with fewer labelled lines than this gets `low_data` on its exported lines: its own
# denial rate is then known to about ±0.04 at best (binomial standard error at a 20% rate), so
# its scores lean on the other payers and the model's prior (README "Export contract").
MIN_PAYER_LABELLED_LINES = 100
# Lines of the cross-fitting: above this many labelled lines the out-of-fold scores come from a
# seeded sample of claims (the map has at most a few hundred parameters; 10M-line runs stay fast).
CALIBRATION_MAX_LINES = 250_000
# A submission month counts as matured when at most this share of its lines still waits for a
# remit; lines of younger months are the fast-adjudicated ones (right-censoring) and are left out
# of the calibration fit (docs/model.md "Calibration").
MATURE_MONTH_MAX_PENDING_SHARE = 0.02


@dataclass
class ModelArtifact:
    """A trained model and everything needed to score with it (no pickles)."""

    booster: lgb.Booster | None
    features: list[FeatureDef]
    categories: dict[str, list[str]]
    calibration: dict[str, Any]
    params: dict[str, Any]
    best_iteration: int
    data_window: dict[str, Any]
    counts: dict[str, int]
    data_hash: str
    trained_at: str
    training_seconds: float
    version: str = ""
    operating_point: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    # The small-practice logistic regression (`models.linear`) when there is no booster.
    linear: dict[str, Any] | None = None

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def model_kind(self) -> str:
        """`lightgbm` or `logistic_regression` (the small-practice fallback)."""
        return "logistic_regression" if self.linear is not None else "lightgbm"

    def raw_probability(self, x: np.ndarray) -> np.ndarray:
        """Uncalibrated probability of the booster (or of the fallback model)."""
        if self.linear is not None:
            return linear_probability(self.linear, x)
        return self.booster.predict(x, num_iteration=self.best_iteration)

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Log-odds contribution per feature plus a bias column (SHAP)."""
        if self.linear is not None:
            return linear_contributions(self.linear, x)
        return self.booster.predict(x, num_iteration=self.best_iteration, pred_contrib=True)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Calibrated denial probability."""
        return apply_calibration(self.calibration, self.raw_probability(x))


@dataclass
class TrainingResult:
    """The artifact plus the split and validation predictions the evaluation needs.

    `valid_raw` and `valid_calibrated_oof` come from the early-stopped booster fitted on the
    training months only, so validation metrics stay out of time even when the shipped booster
    is refitted on the validation months too.
    """

    artifact: ModelArtifact
    split: Split
    valid_raw: np.ndarray
    valid_calibrated_oof: np.ndarray


def _lgb_params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in _DRIVER_KEYS}


def new_version(now: datetime | None = None) -> str:
    """Model version from the UTC training time, sortable as text."""
    return (now or datetime.now(UTC)).strftime("m%Y%m%dT%H%M%S%fZ")


def train(
    frame: pl.DataFrame,
    params: dict[str, Any] | None = None,
    features: Sequence[FeatureDef] | None = None,
) -> ModelArtifact:
    """Train on the modelling table with the catalog's features (see `fit`)."""
    return fit(frame, features if features is not None else catalog_features(), params).artifact


def payer_labelled_lines(labelled_lines: pl.DataFrame) -> dict[str, int]:
    """Labelled lines per payer_id (what `low_data` is judged on at scoring)."""
    if "payer_id" not in labelled_lines.columns:
        return {}
    counts = labelled_lines.group_by(pl.col("payer_id").cast(pl.String)).len()
    return {r["payer_id"]: int(r["len"]) for r in counts.to_dicts() if r["payer_id"] is not None}


def model_kind_for(labelled_lines: int, requested: str = "auto") -> str:
    """`trees` or `linear`: the requested kind, or by the count of labelled lines when `auto`."""
    if requested in ("trees", "linear"):
        return requested
    if requested != "auto":
        raise ValueError(f"unknown model_kind {requested!r}")
    return "trees" if labelled_lines >= MIN_LABELLED_LINES_FOR_TREES else "linear"


def matured_months(frame: pl.DataFrame, by: str) -> set[Any]:
    """Split months whose share of lines still pending is at most MATURE_MONTH_MAX_PENDING_SHARE."""
    shares = (
        frame.group_by(month_column(frame, by).alias("m"))
        .agg(pl.col("denied").is_null().mean().alias("pending_share"))
        .filter(pl.col("pending_share") <= MATURE_MONTH_MAX_PENDING_SHARE)
    )
    return set(shares.get_column("m").to_list())


def out_of_fold_scores(
    x: np.ndarray,
    y: np.ndarray,
    claims: np.ndarray,
    train_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    folds: int,
) -> np.ndarray:
    """Each line scored by the shipped recipe trained on the other folds (folds by claim)."""
    _, claim_index = np.unique(claims, return_inverse=True)
    fold_of_claim = np.random.default_rng(SEED).integers(0, folds, claim_index.max() + 1)
    fold = fold_of_claim[claim_index]
    scores = np.full(len(y), np.nan)
    for k in range(folds):
        held = fold == k
        if not held.any() or held.all() or len(np.unique(y[~held])) < 2:
            continue
        scores[held] = train_predict(x[~held], y[~held], x[held])
    return scores


def fit(
    frame: pl.DataFrame,
    features: Sequence[FeatureDef],
    params: dict[str, Any] | None = None,
    sample_weight: str | None = None,
) -> TrainingResult:
    """Fit LightGBM on older labelled months, early-stop on the newest, refit on all, calibrate out of fold."""
    p = {**DEFAULT_PARAMS, **(params or {})}
    started = time.perf_counter()
    features = list(features)
    split = out_of_time_split(frame, valid_months=int(p["valid_months"]), by=p["split_by"])
    labelled_lines = pl.concat([split.train, split.valid], how="vertical_relaxed")
    p["model_kind"] = model_kind_for(labelled_lines.height, str(p["model_kind"]))
    # Categories from every labelled month, so a payer first seen in the validation months is
    # known to the refitted booster (the early-stopped one simply never saw its code).
    cats = category_lists(labelled_lines, features)
    x_train = feature_matrix(split.train, features, cats)
    x_valid = feature_matrix(split.valid, features, cats)
    y_train = split.train.get_column("denied").cast(pl.Int64).to_numpy()
    y_valid = split.valid.get_column("denied").cast(pl.Int64).to_numpy()
    # Optional per-line weights from a column of the frame (monitoring.weights: policy changes).
    w_train, w_valid = (
        (split.train[sample_weight].to_numpy(), split.valid[sample_weight].to_numpy())
        if sample_weight
        else (None, None)
    )
    names = [f.name for f in features]
    cat_idx = [i for i, f in enumerate(features) if f.kind == "categorical"]
    x_all = np.vstack([x_train, x_valid])
    y_all = np.concatenate([y_train, y_valid])
    fitted_months = list(split.train_months)
    factor = float(p["refit_round_factor"])
    linear = None
    if p["model_kind"] == "linear":
        # Validation scores from a fit on the training months; the shipped fit uses every month.
        # The weights reach the logistic regression too: a small practice's policy change must
        # count in its next training as it does in the trees'.
        w_all = None if w_train is None else np.concatenate([w_train, w_valid])
        valid_raw = linear_probability(
            fit_linear(x_train, y_train, features, sample_weight=w_train), x_valid
        )
        booster, best = None, 0
        linear = fit_linear(x_all, y_all, features, sample_weight=w_all)
        early_stopped_rounds, factor = 0, 1.0
        fitted_months += list(split.valid_months)

        def train_predict(x_fit, y_fit, x_held):
            return linear_probability(fit_linear(x_fit, y_fit, features), x_held)
    else:
        dtrain = lgb.Dataset(
            x_train,
            y_train,
            weight=w_train,
            feature_name=names,
            categorical_feature=cat_idx,
            free_raw_data=False,
        )
        dvalid = lgb.Dataset(x_valid, y_valid, reference=dtrain, categorical_feature=cat_idx)
        booster = lgb.train(
            _lgb_params(p),
            dtrain,
            num_boost_round=int(p["num_boost_round"]),
            valid_sets=[dvalid],
            valid_names=["valid"],
            callbacks=[lgb.early_stopping(int(p["early_stopping_rounds"]), verbose=False)],
        )
        best = int(booster.best_iteration or booster.current_iteration())
        valid_raw = booster.predict(x_valid, num_iteration=best)
        early_stopped_rounds = best
        if factor > 0:
            best = max(1, round(best * factor))
            booster = lgb.train(
                _lgb_params(p),
                lgb.Dataset(
                    x_all,
                    y_all,
                    weight=None if w_train is None else np.concatenate([w_train, w_valid]),
                    feature_name=names,
                    categorical_feature=cat_idx,
                ),
                num_boost_round=best,
            )
            fitted_months += list(split.valid_months)

        def train_predict(x_fit, y_fit, x_held, rounds=best):
            fold_booster = lgb.train(
                _lgb_params(p),
                lgb.Dataset(x_fit, y_fit, feature_name=names, categorical_feature=cat_idx),
                num_boost_round=rounds,
            )
            return fold_booster.predict(x_held)

    calibration, valid_oof = _cross_fitted_calibration(
        labelled_lines,
        matured_months(frame, p["split_by"]),
        x_all,
        valid_raw,
        p,
        train_predict,
    )
    trained_at = datetime.now(UTC)
    artifact = ModelArtifact(
        booster=booster,
        features=features,
        categories=cats,
        calibration=calibration,
        params=p,
        best_iteration=best,
        linear=linear,
        data_window={
            "split_by": p["split_by"],
            "train_months": [m.isoformat() for m in split.train_months],
            "valid_months": [m.isoformat() for m in split.valid_months],
            "fitted_months": [m.isoformat() for m in fitted_months],
            "early_stopped_rounds": early_stopped_rounds,
            "model_kind": p["model_kind"],
            "payer_labelled_lines": payer_labelled_lines(labelled_lines),
        },
        counts={
            "train_lines": split.train.height,
            "train_denied": int(y_train.sum()),
            "valid_lines": split.valid.height,
            "valid_denied": int(y_valid.sum()),
            "pending_lines": int(frame.get_column("denied").is_null().sum()),
            "fitted_lines": split.train.height + (split.valid.height if factor > 0 else 0),
        },
        data_hash=data_hash(labelled_lines, features),
        trained_at=trained_at.isoformat(),
        training_seconds=round(time.perf_counter() - started, 3),
        version=new_version(trained_at),
    )
    log.info(
        "trained %s: early stopping chose %d rounds on %d lines (validated on %d); shipped %d rounds"
        " fitted on %d lines",
        artifact.version,
        early_stopped_rounds,
        split.train.height,
        split.valid.height,
        best,
        artifact.counts["fitted_lines"],
    )
    return TrainingResult(artifact, split, valid_raw, valid_oof)


def _cross_fitted_calibration(
    labelled_lines: pl.DataFrame,
    mature_months: set[Any],
    x: np.ndarray,
    valid_raw: np.ndarray,
    p: dict[str, Any],
    train_predict: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> tuple[dict[str, Any], np.ndarray]:
    """Calibration map from out-of-fold scores of the shipped recipe, on lines of matured months.

    Returns the map and the validation months' probabilities: the early-stopped booster's raw
    scores through the map (out of time but for the map's few numbers).
    """
    y = labelled_lines.get_column("denied").cast(pl.Int64).to_numpy()
    claims = labelled_lines.get_column("claim_id").cast(pl.String).to_numpy()
    months = labelled_lines.select(month_column(labelled_lines, p["split_by"])).to_series()
    mature = months.is_in(list(mature_months)).to_numpy()
    if len(y) > CALIBRATION_MAX_LINES:
        unique_claims = np.unique(claims)
        rng = np.random.default_rng(SEED)
        keep_claims = rng.choice(
            unique_claims,
            size=int(len(unique_claims) * CALIBRATION_MAX_LINES / len(y)),
            replace=False,
        )
        sample = np.isin(claims, keep_claims)
    else:
        sample = np.ones(len(y), dtype=bool)
    oof = out_of_fold_scores(
        x[sample], y[sample], claims[sample], train_predict, int(p["calibration_folds"])
    )
    use = mature[sample] & ~np.isnan(oof)
    if use.sum() < 200 or len(np.unique(y[sample][use])) < 2:
        # Too few matured lines (a very young practice): every out-of-fold line counts.
        use = ~np.isnan(oof)
    calibration, _ = choose_calibration(oof[use], y[sample][use])
    calibration.update(
        fitted_on="out-of-fold scores of the shipped recipe, matured submission months",
        matured_lines=int(use.sum()),
        out_of_fold_mean=float(oof[use].mean()),
        labelled_rate=float(y[sample][use].mean()),
    )
    return calibration, apply_calibration(calibration, valid_raw)
