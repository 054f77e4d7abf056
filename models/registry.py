"""The model registry: one folder per model version, and which version is champion.

`<data>/models/<version>/` holds `model.txt` (Booster.save_model), `metadata.json` (feature order,
category lists, calibration, params, data window, counts, data hash, metrics vs baselines and
oracle, operating point, training time), `model_card.md` and `calibration.png`.
`<data>/models/registry.json` records the champion; `<data>/models/decisions.jsonl` logs every
champion/challenger decision. Scoring loads the champion recorded there, never the newest file.

Champion rule: a challenger replaces the champion when its ROC AUC on the newest labelled month is
not worse than the champion's on the same lines by more than `CHAMPION_MARGIN` (0.005), and its
log loss there is not worse by more than 2%. The first model is champion by default.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from models.dataset import FeatureDef
from models.evaluate import target_results
from models.train import (
    MATURE_MONTH_MAX_PENDING_SHARE,
    MIN_LABELLED_LINES_FOR_TREES,
    MIN_PAYER_LABELLED_LINES,
    ModelArtifact,
)

log = logging.getLogger(__name__)

CHAMPION_MARGIN = 0.005
LOG_LOSS_TOLERANCE = 0.02
REGISTRY_FILE = "registry.json"
DECISIONS_FILE = "decisions.jsonl"


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, float) and obj != obj:
        return None
    return str(obj)


def json_safe(obj: Any) -> Any:
    """NaN → None recursively, so metadata is strict JSON."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def metadata(artifact: ModelArtifact) -> dict[str, Any]:
    """Everything about the model except the trees, as plain JSON-able data."""
    return json_safe(
        {
            "model_version": artifact.version,
            "model_kind": artifact.model_kind,
            "linear": artifact.linear,
            "trained_at": artifact.trained_at,
            "training_seconds": artifact.training_seconds,
            "features": [asdict(f) for f in artifact.features],
            "feature_order": artifact.feature_names,
            "categories": artifact.categories,
            "calibration": artifact.calibration,
            "params": artifact.params,
            "best_iteration": artifact.best_iteration,
            "data_window": artifact.data_window,
            "counts": artifact.counts,
            "data_hash": artifact.data_hash,
            "operating_point": artifact.operating_point,
            "metrics": artifact.metrics,
        }
    )


def save_model(artifact: ModelArtifact, root: Path, calibration_png: bool = True) -> Path:
    """Write model.txt, metadata.json, model_card.md (and calibration.png) for the artifact."""
    folder = root / artifact.version
    folder.mkdir(parents=True, exist_ok=True)
    if artifact.booster is not None:
        artifact.booster.save_model(
            str(folder / "model.txt"), num_iteration=artifact.best_iteration
        )
    _write_text_atomic(
        folder / "metadata.json", json.dumps(metadata(artifact), indent=2, default=_json_default)
    )
    png = folder / "calibration.png"
    if calibration_png and not write_calibration_plot(artifact, png):
        png = None
    _write_text_atomic(folder / "model_card.md", model_card(artifact, png))
    return folder


def load_model(root: Path, version: str) -> ModelArtifact:
    """Rebuild an artifact from its registry folder."""
    folder = root / version
    meta = json.loads((folder / "metadata.json").read_text())
    linear = meta.get("linear")
    booster = None if linear else lgb.Booster(model_file=str(folder / "model.txt"))
    return ModelArtifact(
        booster=booster,
        linear=linear,
        features=[FeatureDef(**f) for f in meta["features"]],
        categories=meta["categories"],
        calibration=meta["calibration"],
        params=meta["params"],
        # model.txt was saved with best_iteration trees only.
        best_iteration=booster.current_iteration() if booster is not None else 0,
        data_window=meta["data_window"],
        counts=meta["counts"],
        data_hash=meta["data_hash"],
        trained_at=meta["trained_at"],
        training_seconds=meta["training_seconds"],
        version=meta["model_version"],
        operating_point=meta["operating_point"],
        metrics=meta["metrics"],
    )


def record_oracle_evaluation(root: Path, version: str, oracle: dict[str, dict[str, Any]]) -> Path:
    """Store a synthetic world's oracle comparison in a registered model's metadata and card."""
    folder = root / version
    if not (folder / "metadata.json").is_file():
        raise FileNotFoundError(f"no registered model {version} under {root}")
    artifact = load_model(root, version)
    artifact.metrics = {**artifact.metrics, "oracle": oracle}
    _write_text_atomic(
        folder / "metadata.json", json.dumps(metadata(artifact), indent=2, default=_json_default)
    )
    png = folder / "calibration.png"
    _write_text_atomic(
        folder / "model_card.md", model_card(artifact, png if png.is_file() else None)
    )
    return folder


def champion_version(root: Path) -> str | None:
    """The champion recorded in registry.json, or None when there is none yet."""
    path = root / REGISTRY_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text()).get("champion")


def load_champion(root: Path) -> ModelArtifact:
    """The champion model; a clear error when the registry has none."""
    version = champion_version(root)
    if version is None:
        raise FileNotFoundError(f"no champion model recorded in {root / REGISTRY_FILE}")
    return load_model(root, version)


def decide_champion(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    margin: float = CHAMPION_MARGIN,
    log_loss_tolerance: float = LOG_LOSS_TOLERANCE,
) -> tuple[bool, str]:
    """Promote the challenger unless it is worse than the champion on the newest month beyond the margins."""
    if champion is None:
        return True, "no champion yet"
    auc_ok = challenger["roc_auc"] >= champion["roc_auc"] - margin
    ll_ok = challenger["log_loss"] <= champion["log_loss"] * (1 + log_loss_tolerance)
    reason = (
        f"newest-month ROC AUC challenger {challenger['roc_auc']:.4f} vs champion "
        f"{champion['roc_auc']:.4f} (margin {margin}); log loss {challenger['log_loss']:.4f} vs "
        f"{champion['log_loss']:.4f} (tolerance {log_loss_tolerance:.0%})"
    )
    return auc_ok and ll_ok, reason


def record_decision(
    root: Path, challenger_version: str, promoted: bool, reason: str, evidence: dict[str, Any]
) -> dict[str, Any]:
    """Append the decision to decisions.jsonl and update registry.json when promoted."""
    root.mkdir(parents=True, exist_ok=True)
    previous = champion_version(root)
    decision = json_safe(
        {
            "decided_at": datetime.now(UTC).isoformat(),
            "challenger": challenger_version,
            "previous_champion": previous,
            "promoted": promoted,
            "champion": challenger_version if promoted else previous,
            "reason": reason,
            "evidence": evidence,
        }
    )
    with open(root / DECISIONS_FILE, "a") as fh:
        fh.write(json.dumps(decision, default=_json_default) + "\n")
    if promoted:
        _write_text_atomic(
            root / REGISTRY_FILE,
            json.dumps({"champion": challenger_version, "since": decision["decided_at"]}, indent=2),
        )
    log.info(
        "champion decision: %s %s (%s)",
        challenger_version,
        "promoted" if promoted else "kept as challenger",
        reason,
    )
    return decision


def write_calibration_plot(artifact: ModelArtifact, path: Path) -> bool:
    """Reliability diagram of the validation months as PNG; False (logged) when it cannot be drawn."""
    curve = artifact.metrics.get("calibration_curve")
    if not curve:
        return False
    from models.figures import calibration_figure, write_pngs

    figure = calibration_figure(curve, f"Calibration on validation months — {artifact.version}")
    return write_pngs([figure], [path], width=640, height=480)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return "" if v is None else str(v)


def _metrics_table(rows: dict[str, dict[str, Any]], keys: list[str]) -> str:
    lines = ["| scorer | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for name, m in rows.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(m.get(k)) for k in keys) + " |")
    return "\n".join(lines)


CARD_KEYS = [
    "roc_auc",
    "pr_auc",
    "brier",
    "log_loss",
    "ece",
    "precision_at_op",
    "recall_at_op",
    "lift_top10",
    "capture_top5",
    "capture_top10",
    "capture_top20",
]


def _trees_line(artifact: ModelArtifact) -> str:
    """How many trees the shipped booster has and how that number was chosen."""
    window = artifact.data_window
    stopped = window.get("early_stopped_rounds")
    if artifact.linear is not None:
        return "none (logistic regression fitted on every labelled line)"
    if stopped is None or window.get("fitted_months") == window.get("train_months"):
        return f"{artifact.best_iteration} (early stopping on validation months)"
    return (
        f"{artifact.best_iteration}: early stopping on the validation months chose {stopped}; the "
        f"shipped booster was refitted on train + validation months "
        f"({artifact.counts.get('fitted_lines')} lines). Validation metrics below are those of "
        "the early-stopped booster, so they stay out of time"
    )


def _kind_sentence(artifact: ModelArtifact) -> str:
    if artifact.linear is None:
        return "LightGBM"
    return (
        "Regularised logistic regression (small-practice fallback: fewer than "
        f"{MIN_LABELLED_LINES_FOR_TREES:,} labelled lines)"
    )


def _honesty_sections(artifact: ModelArtifact) -> list[str]:
    """Calibration method and its evidence, learning-curve position, what the model does not know."""
    cal = artifact.calibration
    labelled = artifact.counts.get("train_lines", 0) + artifact.counts.get("valid_lines", 0)
    payers = artifact.data_window.get("payer_labelled_lines") or {}
    thin = sorted(p for p, n in payers.items() if n < MIN_PAYER_LABELLED_LINES)
    validation = artifact.metrics.get("validation", {}).get("model", {})
    oracle = artifact.metrics.get("oracle") or {}
    if cal.get("fitted_on"):
        method = (
            f"- method: {cal.get('method')} map fitted on out-of-fold scores of the shipped recipe "
            f"({cal.get('folds')} folds by claim; each fold's model trained exactly like the "
            f"shipped one), on {cal.get('matured_lines')} labelled lines of matured submission "
            f"months (at most {MATURE_MONTH_MAX_PENDING_SHARE:.0%} of their lines still "
            "pending): recent months hold only the fast-adjudicated lines (right-censoring), so "
            "they do not set the map. It promises: on lines like the labelled history, the mean "
            "prediction equals the denial rate, including shifts the features explain; a "
            "base-rate shift the features do not explain is not followed (the drift check on "
            "`risk_scores` warns about it)."
        )
    else:
        method = (
            f"- method: {cal.get('method')} map fitted in the validation window on the "
            "early-stopped booster's scores (the recipe before issue 17, which drifts out of "
            'sample: docs/model.md "Calibration"); retrain to get the current recipe.'
        )
    lines = [
        "## Calibration",
        "",
        method,
        f"- choice between isotonic and Platt (cross-fitted inside the out-of-fold scores): "
        f"{json.dumps(json_safe(cal.get('cross_fitted')))}",
        f"- out-of-time ECE (validation months, early-stopped model through the map, 10 "
        "equal-width bins): "
        f"{_fmt(validation.get('ece'))}; mean prediction {_fmt(validation.get('mean_probability'))}"
        f" against a denial rate of {_fmt(validation.get('denial_rate'))}",
    ]
    if "model" in oracle:
        o = oracle["model"]
        lines.append(
            f"- this world's truth (synthetic): pending ECE {_fmt(o.get('ece_equal_count'))} "
            f"realized (10 equal-count bins; the oracle's own {_fmt(oracle.get('oracle', {}).get('ece_equal_count'))}"
            f" is the noise floor), {_fmt(o.get('expected_ece'))} against the true probabilities; "
            f"mean prediction {_fmt(o.get('mean_probability'))}, realized "
            f"{_fmt(o.get('denial_rate'))}, true {_fmt(oracle.get('oracle', {}).get('mean_probability'))}"
        )
    lines += [
        "- on synthetic worlds (docs/model.md, benchmarks/model_targets.py): expected pending "
        "ECE 0.008-0.018 on 100k-line worlds of both generators with this method",
        "",
        "## Learning-curve position",
        "",
        f"- this practice: {labelled:,} labelled 64520 lines; model kind "
        f"**{artifact.model_kind}** (LightGBM from {MIN_LABELLED_LINES_FOR_TREES:,} labelled "
        "lines up, where the learning curve in docs/model.md shows it no worse than the "
        "regularised logistic regression; the logistic regression below)",
        "",
        "## What the model does not know",
        "",
        f"- payers with fewer than {MIN_PAYER_LABELLED_LINES} labelled lines "
        f"({', '.join(thin) if thin else 'none in this history'}) and payers never seen: their "
        "lines carry `low_data = true` in the export; an unseen payer, code or modifier value is "
        "read as missing, so the score leans on the other features and the overall rate",
        "- CPT codes other than 64520 are not scored; a payer policy that changed after the "
        "newest labelled month, denials caused outside the claim (eligibility lapses, "
        "authorization issued for another service) and frequency limits reached by blocks "
        "billed later are invisible at scoring",
        "",
    ]
    return lines


def model_card(artifact: ModelArtifact, calibration_png: Path | None) -> str:
    """The Markdown model card."""
    m = artifact.metrics
    parts = [
        f"# Model card — {artifact.version}",
        "",
        f"{_kind_sentence(artifact)} denial-risk model for CPT 64520 claim lines (binary: the "
        "payer denies the line).",
        "",
        f"- trained at: {artifact.trained_at} ({artifact.training_seconds:.1f} s)",
        f"- data window: train months {', '.join(artifact.data_window.get('train_months', []))}; "
        f"validation months {', '.join(artifact.data_window.get('valid_months', []))} "
        f"(split by {artifact.data_window.get('split_by')})",
        f"- counts: {json.dumps(artifact.counts)}",
        f"- data hash (sha256): `{artifact.data_hash}`",
        f"- trees: {_trees_line(artifact)}",
        f"- operating point: {json.dumps(artifact.operating_point)}",
        "",
        *_honesty_sections(artifact),
        "## Metrics on the validation months (out of time; calibrated probabilities cross-fitted)",
        "",
        _metrics_table(m.get("validation", {}), CARD_KEYS),
        "",
    ]
    if m.get("newest_month"):
        parts += [
            f"## Newest labelled month ({m.get('newest_month_label')})",
            "",
            _metrics_table(m["newest_month"], CARD_KEYS),
            "",
        ]
    if m.get("oracle"):
        parts += [
            "## Pending lines against the synthetic truth (oracle = true probability)",
            "",
            _metrics_table(m["oracle"], ["expected_roc_auc", *CARD_KEYS]),
            "",
        ]
        if {"model", "oracle", "rules_scrubber"} <= set(m["oracle"]):
            parts += [
                "## Targets (pending lines, synthetic truth)",
                "",
                "| target | measured | met |",
                "|---|---|---|",
                *[
                    f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else '**no**'} |"
                    for t in target_results(m["oracle"])
                ],
                "",
            ]
    if calibration_png is not None:
        parts += ["## Reliability diagram", "", f"![calibration]({calibration_png.name})", ""]
    parts += [
        "## Features",
        "",
        "| feature | kind | reason group |",
        "|---|---|---|",
        *[f"| {f.name} | {f.kind} | {f.reason_group} |" for f in artifact.features],
        "",
        "## Parameters",
        "",
        "```json",
        json.dumps(artifact.params, indent=2, default=_json_default),
        "```",
        "",
    ]
    return "\n".join(parts)
