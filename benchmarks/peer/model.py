"""Peer model: scikit-learn HistGradientBoostingClassifier, isotonic calibration, occlusion reasons."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression

EXPORT_COLUMNS = (
    "claim_id", "line_number", "cpt_code", "payer_id", "service_date", "charge_amount",
    "denial_probability", "risk_band", "expected_loss_usd", "reason_1", "reason_2", "reason_3",
    "reasons", "recommended_action", "model_version", "scored_at",
)  # fmt: skip


def design(table: pd.DataFrame, features: list[dict[str, Any]], categories=None):
    """Feature frame for scikit-learn: categoricals as pandas categories, the rest float."""
    cols, cats = {}, {} if categories is None else categories
    for f in features:
        s = table[f["name"]]
        if f["kind"] == "categorical":
            if categories is None:
                cats[f["name"]] = sorted(s.dropna().astype(str).unique())
            cols[f["name"]] = pd.Categorical(s.astype(object), categories=cats[f["name"]])
        else:
            cols[f["name"]] = pd.to_numeric(s.astype(object), errors="coerce").astype(float)
    return pd.DataFrame(cols, index=table.index), cats


def train(table: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
    """Out-of-time split by submission month (last 3 labelled months validate), HGB, isotonic."""
    features = [f for f in spec["features"] if f["name"] in table.columns]
    lab = table[table["denied"].notna()]
    month = lab["submission_date"].dt.to_period("M")
    months = sorted(month.unique())
    cut = months[-int(spec["lgb_params"]["valid_months"])]
    tr, va = lab[month < cut], lab[month >= cut]
    x_tr, cats = design(tr, features)
    x_va, _ = design(va, features, cats)
    p = spec["lgb_params"]
    model = HistGradientBoostingClassifier(
        learning_rate=p["learning_rate"],
        max_iter=p["num_boost_round"],
        max_leaf_nodes=p["num_leaves"],
        max_depth=p["max_depth"],
        min_samples_leaf=p["min_data_in_leaf"],
        l2_regularization=p["lambda_l2"],
        categorical_features="from_dtype",
        early_stopping=True,
        n_iter_no_change=p["early_stopping_rounds"],
        random_state=0,
    )
    model.fit(x_tr, tr["denied"].astype(int), X_val=x_va, y_val=va["denied"].astype(int))
    raw = model.predict_proba(x_va)[:, 1]
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, va["denied"])
    p_va = iso.predict(raw)
    pay = va["expected_payment_usd"].fillna(0.0).to_numpy()
    threshold = hold_threshold(p_va * pay, va["denied"].to_numpy(), pay, spec)
    baseline = {n: x_tr[n].mode().iloc[0] if len(x_tr) else np.nan for n in x_tr.columns}
    from sklearn.metrics import roc_auc_score

    return {
        "model": model,
        "calibration": iso,
        "features": features,
        "categories": cats,
        "baseline": baseline,
        "hold_threshold_usd": threshold,
        "version": "peer" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "roc_auc_valid": float(roc_auc_score(va["denied"], p_va)),
        "iterations": int(model.n_iter_),
    }


def hold_threshold(loss: np.ndarray, denied: np.ndarray, pay: np.ndarray, spec) -> float:
    """Expected-loss cut maximising net dollars of holding on the validation lines."""
    order = np.argsort(-loss, kind="stable")
    gain = denied[order] * pay[order] * spec["recovery_rate"] - spec["rework_cost_usd"]
    net = np.cumsum(gain)
    if len(net) == 0 or net.max() <= 0:
        return float(loss.max() + 0.01) if len(loss) else float("inf")
    return float(loss[order][int(np.argmax(net))])


def save(bundle: dict[str, Any], path: Path) -> None:
    """Pickle the bundle (what an analyst does)."""
    path.write_bytes(pickle.dumps(bundle))


def load(path: Path) -> dict[str, Any]:
    return pickle.loads(path.read_bytes())


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def score_explain(
    bundle: dict[str, Any], table: pd.DataFrame, spec: dict[str, Any]
) -> pd.DataFrame:
    """Pending lines: probability, expected loss, band, top-3 reason groups by occlusion."""
    pend = table[table["denied"].isna()].reset_index(drop=True)
    x, _ = design(pend, bundle["features"], bundle["categories"])
    model = bundle["model"]
    raw = model.predict_proba(x)[:, 1]
    prob = bundle["calibration"].predict(raw)
    base = _logit(raw)
    groups = list(dict.fromkeys(f["reason_group"] for f in bundle["features"]))
    contrib = np.zeros((len(pend), len(groups)))
    # Occlusion: the drop in log-odds when a reason group's features take their training mode.
    for j, g in enumerate(groups):
        xo = x.copy()
        for f in bundle["features"]:
            if f["reason_group"] == g:
                value = bundle["baseline"][f["name"]]
                if f["kind"] == "categorical":
                    xo[f["name"]] = pd.Categorical(
                        [value] * len(xo), categories=x[f["name"]].cat.categories
                    )
                else:
                    xo[f["name"]] = value
        contrib[:, j] = base - _logit(model.predict_proba(xo)[:, 1])
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :3]
    names = np.asarray(groups, dtype=object)
    out = pend[
        ["claim_id", "line_number", "cpt_code", "payer_id", "service_date", "charge_amount"]
    ].copy()
    out["denial_probability"] = prob
    out["expected_loss_usd"] = prob * pend["expected_payment_usd"].fillna(0.0).to_numpy()
    thr = bundle["hold_threshold_usd"]
    out["risk_band"] = np.select(
        [out["expected_loss_usd"] >= thr, out["expected_loss_usd"] >= thr / 2],
        ["high", "medium"],
        "low",
    )
    reasons = spec["reasons"]
    picked = []
    for i in range(3):
        idx = order[:, i]
        val = contrib[np.arange(len(idx)), idx]
        picked.append(np.where(val > 0, names[idx], None))
    for i in range(3):
        out[f"reason_{i + 1}"] = [reasons[g][0] if g else None for g in picked[i]]
    out["reasons"] = [
        "; ".join(reasons[g][1] for g in gs if g) or None for gs in zip(*picked, strict=True)
    ]
    out["recommended_action"] = [reasons[g][2] if g else spec["no_action"] for g in picked[0]]
    out.loc[out["risk_band"] == "low", "recommended_action"] = spec["no_action"]
    out["model_version"] = bundle["version"]
    out["scored_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def export(scored: pd.DataFrame, exports: Path) -> Path:
    """The billing CSV: contract columns, sorted by expected loss descending."""
    exports.mkdir(parents=True, exist_ok=True)
    out = scored.sort_values(
        ["expected_loss_usd", "claim_id", "line_number"], ascending=[False, True, True]
    )[list(EXPORT_COLUMNS)].copy()
    out["service_date"] = pd.to_datetime(out["service_date"]).dt.strftime("%Y-%m-%d")
    out["charge_amount"] = out["charge_amount"].round(2)
    out["denial_probability"] = out["denial_probability"].round(4)
    out["expected_loss_usd"] = out["expected_loss_usd"].round(2)
    path = exports / f"risk_scores_{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.csv"
    out.to_csv(path, index=False)
    return path
