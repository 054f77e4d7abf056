"""The model's targets (issue 17) over several SYNTHETIC worlds of both generators: mean and worst.

`uv run python -m benchmarks.model_targets --work /tmp/lc --default-seeds 7 11 23
--independent-seeds 1 2 3 [--small-lines 20000] [--peer]`

Per world (written once and its modelling table built by the real pipeline, as in
`benchmarks/learning_curve.py`): the product's training run (`models.challenger
.train_and_evaluate`, the same code as the `denial_model` asset) with the truth, which scores the
pending lines with the model, the logistic regression and the rules scrubber against the
generator's outcomes; with `--peer`, the pandas + HistGradientBoosting peer (`benchmarks/peer/`)
fitted on the same landing files and compared on the same pending lines. Targets on pending
lines: ECE (10 equal-count bins, realized) <= 0.02 on 100k-line worlds and <= 0.03 on 20k-line
worlds; mean prediction within ±0.01 of the realized rate; ROC AUC gap to the oracle <= 0.015;
not worse than the peer on ROC AUC and ECE; >= 0.10 ROC AUC above the scrubber. Rows go to
`benchmarks/results/model_targets.json`; the table is printed as Markdown.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.learning_curve import prepare_world
from data_contracts.input_contract import TARGET_CPT
from models.challenger import train_and_evaluate
from models.dataset import catalog_features
from models.evaluate import (
    MEAN_PREDICTION_TOLERANCE,
    ORACLE_GAP_TARGET,
    SCRUBBER_MARGIN_TARGET,
    oracle_comparison,
)

log = logging.getLogger("benchmarks.model_targets")

RESULTS = Path(__file__).resolve().parent / "results" / "model_targets.json"
ECE_TARGET_BY_LINES = {100_000: 0.02, 20_000: 0.03}


def read_truth(folder: Path) -> pl.DataFrame:
    return pl.read_csv(folder / "truth.csv").with_columns(
        pl.col("claim_id").cast(pl.String), pl.col("line_number").cast(pl.Int64)
    )


def peer_scores(folder: Path) -> pl.DataFrame:
    """The peer's export for the world's landing folder (run once, cached beside it)."""
    from benchmarks.peer.pipeline import run_all
    from benchmarks.peer.spec import write_spec

    cached = folder / "peer_scores.parquet"
    if not cached.is_file():
        spec = write_spec(folder / "peer" / "spec.json")
        result = run_all(folder / "landing", folder / "peer" / "work", spec)
        pl.read_csv(result["export_path"], infer_schema=False).select(
            pl.col("claim_id").cast(pl.String),
            pl.col("line_number").cast(pl.Int64),
            pl.col("denial_probability").cast(pl.Float64).alias("p_peer"),
        ).write_parquet(cached)
    return pl.read_parquet(cached)


def evaluate(folder: Path, with_peer: bool) -> dict[str, dict[str, Any]]:
    """Pending-line metrics per scorer (model, logistic_regression, rules_scrubber, oracle, peer)."""
    table = pl.read_parquet(folder / "table.parquet").filter(pl.col("cpt_code") == TARGET_CPT)
    truth = read_truth(folder)
    run = train_and_evaluate(table, catalog_features(), truth=truth)
    scorers = dict(run.artifact.metrics["oracle"])
    scorers["model"]["model_kind"] = run.artifact.model_kind
    if with_peer:
        try:
            peer_frame = peer_scores(folder)
        except Exception as exc:  # the peer's own reader may not take every world's files
            log.warning("peer failed on %s: %s", folder, exc)
            scorers["peer_error"] = {"error": f"{type(exc).__name__}: {exc}"}
            return scorers
        frame = run.pending_predictions.select("claim_id", "line_number", "p_model").join(
            peer_frame, on=["claim_id", "line_number"], how="inner"
        )
        peer = oracle_comparison(frame, truth, ["p_peer", "p_model"]).to_dicts()
        by = {r["scorer"]: r for r in peer}
        scorers["peer"] = {**by["peer"], "pending_lines_matched": frame.height}
        scorers["model_on_peer_lines"] = by["model"]
    return scorers


def targets(lines: int, s: dict[str, dict[str, Any]]) -> dict[str, bool | None]:
    """Each target met (True/False) on one world; None when it does not apply."""
    model, oracle, scrubber = s["model"], s["oracle"], s["rules_scrubber"]
    ece_bound = ECE_TARGET_BY_LINES.get(lines)
    out: dict[str, bool | None] = {
        "ece": model["ece_equal_count"] <= ece_bound if ece_bound else None,
        "mean_prediction": abs(model["mean_probability"] - model["denial_rate"])
        <= MEAN_PREDICTION_TOLERANCE,
        "oracle_gap": oracle["roc_auc"] - model["roc_auc"] <= ORACLE_GAP_TARGET
        if lines >= 100_000
        else None,
        "scrubber_margin": model["roc_auc"] - scrubber["roc_auc"] >= SCRUBBER_MARGIN_TARGET,
    }
    if "peer" in s:
        mine = s["model_on_peer_lines"]
        out["peer_roc_auc"] = mine["roc_auc"] >= s["peer"]["roc_auc"]
        out["peer_ece"] = mine["ece_equal_count"] <= s["peer"]["ece_equal_count"]
    return out


def row(generator: str, lines: int, seed: int, s: dict[str, dict[str, Any]]) -> dict[str, Any]:
    m, o = s["model"], s["oracle"]
    out = {
        "generator": generator,
        "lines": lines,
        "seed": seed,
        "pending_lines": m["lines"],
        "model_kind": m.get("model_kind"),
        "roc_auc": m["roc_auc"],
        "oracle_roc_auc": o["roc_auc"],
        "oracle_gap": o["roc_auc"] - m["roc_auc"],
        "expected_oracle_gap": o["expected_roc_auc"] - m["expected_roc_auc"],
        "ece": m["ece_equal_count"],
        "oracle_ece": o["ece_equal_count"],
        "expected_ece": m["expected_ece"],
        "mean_probability": m["mean_probability"],
        "realized_rate": m["denial_rate"],
        "true_rate": o["mean_probability"],
        "logistic_roc_auc": s["logistic_regression"]["roc_auc"],
        "scrubber_roc_auc": s["rules_scrubber"]["roc_auc"],
    }
    if "peer" in s:
        out.update(
            peer_roc_auc=s["peer"]["roc_auc"],
            peer_ece=s["peer"]["ece_equal_count"],
            model_roc_auc_on_peer_lines=s["model_on_peer_lines"]["roc_auc"],
            model_ece_on_peer_lines=s["model_on_peer_lines"]["ece_equal_count"],
        )
    if "peer_error" in s:
        out["peer_error"] = s["peer_error"]["error"]
    out["targets"] = targets(lines, s)
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    """Per world, then mean and worst per generator and size."""
    cols = [
        "generator", "lines", "seed", "pending_lines", "roc_auc", "oracle_gap",
        "expected_oracle_gap", "ece", "oracle_ece", "expected_ece", "mean_probability",
        "realized_rate", "true_rate", "scrubber_roc_auc", "peer_roc_auc", "peer_ece",
    ]  # fmt: skip
    head = "| " + " | ".join(cols) + " | targets missed |\n|" + "---|" * (len(cols) + 1)
    body = []
    for r in rows:
        missed = [k for k, v in r["targets"].items() if v is False]
        cells = [
            f"{r.get(c):.4f}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols
        ]
        body.append("| " + " | ".join(cells) + f" | {', '.join(missed) or 'none'} |")
    frame = pl.DataFrame([{k: v for k, v in r.items() if k != "targets"} for r in rows])
    agg = (
        frame.with_columns((pl.col("mean_probability") - pl.col("realized_rate")).abs().alias("d"))
        .group_by("generator", "lines")
        .agg(
            pl.len().alias("worlds"),
            pl.col("oracle_gap").mean().alias("gap_mean"),
            pl.col("oracle_gap").max().alias("gap_worst"),
            pl.col("ece").mean().alias("ece_mean"),
            pl.col("ece").max().alias("ece_worst"),
            pl.col("oracle_ece").mean().alias("oracle_ece_mean"),
            pl.col("expected_ece").mean().alias("expected_ece_mean"),
            pl.col("expected_ece").max().alias("expected_ece_worst"),
            pl.col("d").mean().alias("mean_pred_error_mean"),
            pl.col("d").max().alias("mean_pred_error_worst"),
        )
        .sort("generator", "lines")
    )
    summary = ["", "| " + " | ".join(agg.columns) + " |", "|" + "---|" * len(agg.columns)]
    for r in agg.iter_rows():
        summary.append(
            "| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in r) + " |"
        )
    return "\n".join([head, *body, *summary])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--small-lines", type=int, default=20_000)
    parser.add_argument("--default-seeds", type=int, nargs="*", default=[7, 11, 23])
    parser.add_argument("--independent-seeds", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--peer", action="store_true", help="also run the peer (100k worlds)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    # Re-runs resume: worlds already in --out are kept.
    rows: list[dict[str, Any]] = (
        json.loads(args.out.read_text())["rows"] if args.out.is_file() else []
    )
    done = {(r["generator"], r["lines"], r["seed"]) for r in rows}
    for lines in dict.fromkeys((args.lines, args.small_lines)):  # once each, even if equal
        for generator, seeds in (
            ("default", args.default_seeds),
            ("independent", args.independent_seeds),
        ):
            for seed in seeds:
                if (generator, lines, seed) in done:
                    continue
                started = time.perf_counter()
                folder = prepare_world(args.work, generator, seed, lines)
                scorers = evaluate(folder, args.peer and lines == args.lines)
                rows.append(row(generator, lines, seed, scorers))
                done.add((generator, lines, seed))
                log.info(
                    "%s %d seed %d: %.0f s", generator, lines, seed, time.perf_counter() - started
                )
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(
                    json.dumps(
                        {
                            "written_at": datetime.now(UTC).isoformat(),
                            "synthetic": True,
                            "rows": rows,
                        },
                        indent=1,
                    )
                )
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
