"""Per-line explanations from LightGBM's own SHAP values, grouped into biller reasons.

`Booster.predict(pred_contrib=True)` returns one contribution per feature plus the bias, summing
to the raw (log-odds) score, so no `shap` dependency is needed. Correlated features share a
`reason_group` in the catalog; a group's contribution is the sum of its features' contributions,
and a line's reasons are its top 3 groups with a positive contribution (calibration is monotone,
so the order carries over to calibrated probabilities). The work is batched to bound memory.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from models.dataset import feature_matrix
from models.train import ModelArtifact

TOP_K = 3
EXPLAIN_BATCH_ROWS = 50_000


def contributions(
    artifact: ModelArtifact, x: np.ndarray, batch_rows: int = EXPLAIN_BATCH_ROWS
) -> np.ndarray:
    """SHAP contributions (n × features + 1 bias column), computed in row batches."""
    parts = [
        artifact.contributions(x[start : start + batch_rows])
        for start in range(0, len(x), batch_rows)
    ]
    if not parts:
        return np.zeros((0, len(artifact.features) + 1))
    return np.vstack(parts)


def reason_groups(artifact: ModelArtifact) -> list[str]:
    """Distinct reason groups of the artifact's features, in first-seen order."""
    return list(dict.fromkeys(f.reason_group for f in artifact.features))


def group_contributions(
    artifact: ModelArtifact, contrib: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Sum feature contributions within each reason group (bias column dropped)."""
    groups = reason_groups(artifact)
    index = {g: i for i, g in enumerate(groups)}
    membership = np.zeros((len(artifact.features), len(groups)))
    for j, f in enumerate(artifact.features):
        membership[j, index[f.reason_group]] = 1.0
    return groups, contrib[:, : len(artifact.features)] @ membership


def top_reason_groups(
    artifact: ModelArtifact,
    frame: pl.DataFrame,
    k: int = TOP_K,
    batch_rows: int = EXPLAIN_BATCH_ROWS,
) -> pl.DataFrame:
    """Per line the top k reason groups with positive contribution (null when fewer), and their log-odds."""
    x = feature_matrix(frame, artifact.features, artifact.categories)
    groups, grouped = group_contributions(artifact, contributions(artifact, x, batch_rows))
    order = np.argsort(-grouped, axis=1, kind="stable")[:, :k]
    names = np.asarray(groups, dtype=object)
    cols: dict[str, list] = {}
    for i in range(k):
        if i >= grouped.shape[1]:
            cols[f"reason_group_{i + 1}"] = [None] * len(frame)
            cols[f"reason_contribution_{i + 1}"] = [None] * len(frame)
            continue
        idx = order[:, i]
        val = grouped[np.arange(len(idx)), idx]
        positive = val > 0
        cols[f"reason_group_{i + 1}"] = np.where(positive, names[idx], None).tolist()
        cols[f"reason_contribution_{i + 1}"] = np.where(positive, val, np.nan).tolist()
    schema = {
        **{f"reason_group_{i + 1}": pl.String for i in range(k)},
        **{f"reason_contribution_{i + 1}": pl.Float64 for i in range(k)},
    }
    return pl.DataFrame(cols, schema=schema).fill_nan(None)
