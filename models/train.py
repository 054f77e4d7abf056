"""Train the LightGBM denial-risk model out of time, with early stopping and calibration.

Trees are kept small (num_leaves 15, max_depth 4, at most 100 rounds, 115 after the refit)
because LightGBM's SHAP (`pred_contrib`) cost grows with leaves and depth (STACK-NOTES "LightGBM
SHAP is slow": ~50 s per 1M rows × 50 features × 100 trees at 15 leaves / depth 4 on 2 threads);
explanations must run at ≥ 10,000 lines/s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
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
    out_of_time_split,
)

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
}
_DRIVER_KEYS = (
    "num_boost_round",
    "early_stopping_rounds",
    "valid_months",
    "split_by",
    "refit_round_factor",
)


@dataclass
class ModelArtifact:
    """A trained model and everything needed to score with it (no pickles)."""

    booster: lgb.Booster
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

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def raw_probability(self, x: np.ndarray) -> np.ndarray:
        """Uncalibrated booster probability."""
        return self.booster.predict(x, num_iteration=self.best_iteration)

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


def fit(
    frame: pl.DataFrame,
    features: Sequence[FeatureDef],
    params: dict[str, Any] | None = None,
    sample_weight: str | None = None,
) -> TrainingResult:
    """Fit LightGBM on older labelled months, early-stop and calibrate on the newest, then refit on all."""
    p = {**DEFAULT_PARAMS, **(params or {})}
    started = time.perf_counter()
    features = list(features)
    split = out_of_time_split(frame, valid_months=int(p["valid_months"]), by=p["split_by"])
    labelled_lines = pl.concat([split.train, split.valid], how="vertical_relaxed")
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
    dtrain = lgb.Dataset(
        x_train,
        y_train,
        weight=w_train,
        feature_name=names,
        categorical_feature=cat_idx,
        free_raw_data=False,
    )
    dvalid = lgb.Dataset(x_valid, y_valid, reference=dtrain, categorical_feature=cat_idx)
    evals: dict[str, Any] = {}
    booster = lgb.train(
        _lgb_params(p),
        dtrain,
        num_boost_round=int(p["num_boost_round"]),
        valid_sets=[dvalid],
        valid_names=["valid"],
        callbacks=[
            lgb.early_stopping(int(p["early_stopping_rounds"]), verbose=False),
            lgb.record_evaluation(evals),
        ],
    )
    best = int(booster.best_iteration or booster.current_iteration())
    valid_raw = booster.predict(x_valid, num_iteration=best)
    calibration, valid_oof = choose_calibration(valid_raw, y_valid)
    early_stopped_rounds = best
    fitted_months = list(split.train_months)
    factor = float(p["refit_round_factor"])
    if factor > 0:
        best = max(1, round(best * factor))
        booster = lgb.train(
            _lgb_params(p),
            lgb.Dataset(
                np.vstack([x_train, x_valid]),
                np.concatenate([y_train, y_valid]),
                weight=None if w_train is None else np.concatenate([w_train, w_valid]),
                feature_name=names,
                categorical_feature=cat_idx,
            ),
            num_boost_round=best,
        )
        fitted_months += list(split.valid_months)
    trained_at = datetime.now(UTC)
    artifact = ModelArtifact(
        booster=booster,
        features=features,
        categories=cats,
        calibration=calibration,
        params=p,
        best_iteration=best,
        data_window={
            "split_by": p["split_by"],
            "train_months": [m.isoformat() for m in split.train_months],
            "valid_months": [m.isoformat() for m in split.valid_months],
            "fitted_months": [m.isoformat() for m in fitted_months],
            "early_stopped_rounds": early_stopped_rounds,
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
