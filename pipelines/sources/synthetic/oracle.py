"""The oracle: how well the true probability ranks the drawn outcomes of pending 64520 lines."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def oracle_roc_auc(denied: np.ndarray, probability: np.ndarray) -> float:
    """ROC AUC of the true probability against the drawn outcome; NaN when one class is absent."""
    if denied.size == 0 or denied.min() == denied.max():
        return float("nan")
    return float(roc_auc_score(denied, probability))
