"""The small-practice model: an L2-regularised logistic regression stored as plain numbers.

Below `models.train.MIN_LABELLED_LINES_FOR_TREES` labelled lines the learning curve
(docs/model.md "Small practices") shows depth-4 LightGBM ranking and calibrating worse than a
strongly regularised logistic regression, so the artifact carries this model instead of a
booster. It reads the same feature matrix as the booster (`models.dataset.feature_matrix`:
Float64, categorical codes, NaN for missing or unseen) and explains through the same path:
its contributions are exact SHAP values of a linear model (coefficient × centred value, summed
per feature, plus a bias column), so `models.explain` groups them into reasons unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from models.dataset import FeatureDef

# Inverse L2 strength. On 5k-line worlds (about 1.1k labelled lines) C = 0.03 gave the best
# expected ROC AUC and calibration of 1.0 / 0.1 / 0.03 (docs/model.md "Small practices").
LINEAR_C = 0.03


def _blocks(model: dict[str, Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix (imputed, standardised numerics + missing flags; one-hot codes) and owner index."""
    columns, owners = [], []
    for j, spec in enumerate(model["features"]):
        v = x[:, j]
        if spec["kind"] == "categorical":
            for code in spec["codes"]:
                columns.append((v == code).astype(np.float64))
                owners.append(j)
            continue
        missing = np.isnan(v)
        filled = np.where(missing, spec["median"], v)
        columns.append((filled - spec["mean"]) / spec["std"])
        owners.append(j)
        if spec["missing_flag"]:
            columns.append(missing.astype(np.float64))
            owners.append(j)
    if not columns:
        return np.zeros((len(x), 0)), np.zeros(0, dtype=np.int64)
    return np.column_stack(columns), np.asarray(owners, dtype=np.int64)


def fit_linear(
    x: np.ndarray,
    y: np.ndarray,
    features: Sequence[FeatureDef],
    c: float = LINEAR_C,
    sample_weight: np.ndarray | None = None,
) -> dict[str, Any]:
    """Fit the regularised logistic regression on a feature matrix; return it as plain numbers.

    `sample_weight` weighs the lines in the fit (the standardisation stays unweighted).
    """
    specs: list[dict[str, Any]] = []
    for j, f in enumerate(features):
        v = x[:, j]
        if f.kind == "categorical":
            specs.append({"kind": "categorical", "codes": sorted(set(v[~np.isnan(v)].tolist()))})
            continue
        present = v[~np.isnan(v)]
        median = float(np.median(present)) if len(present) else 0.0
        filled = np.where(np.isnan(v), median, v)
        std = float(filled.std())
        specs.append(
            {
                "kind": f.kind,
                "median": median,
                "mean": float(filled.mean()),
                "std": std if std > 0 else 1.0,
                "missing_flag": bool(np.isnan(v).any()),
            }
        )
    model: dict[str, Any] = {"kind": "logistic_regression", "c": c, "features": specs}
    z, _ = _blocks(model, x)
    lr = LogisticRegression(C=c, max_iter=2000)
    lr.fit(z, y, sample_weight=sample_weight)
    model["coefficients"] = [float(w) for w in lr.coef_[0]]
    model["intercept"] = float(lr.intercept_[0])
    model["column_means"] = [float(m) for m in z.mean(axis=0)]
    return model


def linear_logit(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Log-odds of denial."""
    z, _ = _blocks(model, x)
    return z @ np.asarray(model["coefficients"]) + model["intercept"]


def linear_probability(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Uncalibrated denial probability."""
    return 1.0 / (1.0 + np.exp(-linear_logit(model, x)))


def linear_contributions(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Per-feature log-odds contributions plus a bias column (the shape of LightGBM's pred_contrib)."""
    z, owners = _blocks(model, x)
    w = np.asarray(model["coefficients"])
    centred = (z - np.asarray(model["column_means"])) * w
    n_features = len(model["features"])
    out = np.zeros((len(x), n_features + 1))
    if len(owners):
        membership = np.zeros((len(owners), n_features))
        membership[np.arange(len(owners)), owners] = 1.0
        out[:, :n_features] = centred @ membership
    out[:, n_features] = model["intercept"] + float(np.dot(model["column_means"], w))
    return out
