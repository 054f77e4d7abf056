"""Issue 16: the pre-submission path on worlds the product has never seen (SYNTHETIC, independent).

`uv run python -m benchmarks.presubmission_unseen --work /tmp/unseen --seeds 1 2 3 [--lines 100000]`

Per seed: an independently written world (`benchmarks/independent_world`, not the product's
generator); half of its pending 64520 claims (chosen by a hash of the claim id) are taken out of
the landing folder with their encounters' notes, as claims that have not been sent. The rest is
run through the real pipeline (`run_pipeline`: ingest, features, training, daily scoring). The
held-out claims are then scored through the pre-submission path (`ScoringContext` +
`score_unsent`, what the CLI, HTTP and FHIR call), and both halves are compared with the world's
truth: the held-out half as scored before submission, the other half as the daily run scored it.
"As well as" is judged on the difference (pre-submission minus daily) in expected ROC AUC and in
ECE against the true probabilities, with a bootstrap 95% interval over claims.
Rows go to `benchmarks/results/presubmission_unseen.json`; a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from benchmarks.independent_world.generate import generate_independent_world
from data_contracts.input_contract import TARGET_CPT
from models.evaluate import equal_count_ece, expected_roc_auc
from pipelines.runner import run_pipeline
from pipelines.settings import ProductSettings

log = logging.getLogger("benchmarks.presubmission_unseen")

RESULTS = Path(__file__).resolve().parent / "results" / "presubmission_unseen.json"
BOOTSTRAP_DRAWS = 400


def held_out(claim_id: str) -> bool:
    """Half of the claims, fixed by the claim id (not by anything the model sees)."""
    return zlib.crc32(claim_id.encode()) % 2 == 0


def hold_out_pending(landing: Path, unsent: Path, truth: pl.DataFrame) -> set[str]:
    """Move half of the pending 64520 claims' rows (and their encounters' notes) to `unsent`."""
    pending = {c for c in truth.filter(pl.col("pending") == 1)["claim_id"].to_list() if held_out(c)}
    (unsent / "claims").mkdir(parents=True)
    (unsent / "notes").mkdir(parents=True)
    encounters: set[str] = set()
    moved: list[dict[str, str]] = []
    header: list[str] = []
    for path in sorted((landing / "claims").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            rows = list(reader)
        keep = [r for r in rows if r["claim_id"] not in pending]
        if len(keep) == len(rows):
            continue
        mine = [r for r in rows if r["claim_id"] in pending]
        moved += mine
        encounters |= {r["encounter_id"] for r in mine if r.get("encounter_id")}
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, header, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(keep)
    with (unsent / "claims" / "unsent.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(moved)
    notes: list[str] = []
    for path in sorted((landing / "notes").glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        keep = [x for x in lines if json.loads(x).get("encounter_id") not in encounters]
        notes += [x for x in lines if json.loads(x).get("encounter_id") in encounters]
        path.write_text("".join(f"{x}\n" for x in keep), encoding="utf-8")
    (unsent / "notes" / "unsent.jsonl").write_text(
        "".join(f"{x}\n" for x in notes), encoding="utf-8"
    )
    return pending


def daily_scores(warehouse: Path) -> pl.DataFrame:
    """The daily run's scores of the pending 64520 lines still in the landing folder."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql("SELECT claim_id, line_number, denial_probability FROM risk_scores").pl()


def metrics(frame: pl.DataFrame) -> dict[str, float]:
    """Expected ROC AUC, ECE against the truth and against drawn outcomes, means."""
    p = frame["p"].to_numpy()
    t = frame["true_probability"].to_numpy()
    y = frame["denied"].to_numpy()
    return {
        "lines": int(len(p)),
        "expected_roc_auc": expected_roc_auc(p, t),
        "ece_vs_truth": equal_count_ece(t, p),
        "ece_realized": equal_count_ece(y, p),
        "mean_predicted": float(p.mean()),
        "mean_true_probability": float(t.mean()),
        "oracle_expected_roc_auc": expected_roc_auc(t, t),
    }


def bootstrap_difference(presub: pl.DataFrame, daily: pl.DataFrame, seed: int) -> dict[str, list]:
    """95% intervals of presub − daily in expected ROC AUC and ECE vs truth, resampling claims."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {"expected_roc_auc": [], "ece_vs_truth": []}
    groups = [f.partition_by("claim_id") for f in (presub, daily)]
    for _ in range(BOOTSTRAP_DRAWS):
        drawn = []
        for parts in groups:
            pick = rng.integers(0, len(parts), len(parts))
            drawn.append(pl.concat([parts[i] for i in pick]))
        a, b = metrics(drawn[0]), metrics(drawn[1])
        for key in out:
            out[key].append(a[key] - b[key])
    return {k: [float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))] for k, v in out.items()}


def evaluate_seed(work: Path, lines: int, seed: int) -> dict:
    """Generate, hold out, run, score the held-out half before submission, compare."""
    from models.presubmission import ScoringContext, score_unsent
    from pipelines.presubmission import read_request_folder

    root = work / f"seed{seed}"
    if root.exists():
        shutil.rmtree(root)
    landing, truth_path, unsent = root / "landing", root / "truth.csv", root / "unsent"
    generate_independent_world(landing, truth_path, lines, seed)
    truth = pl.read_csv(truth_path, schema_overrides={"claim_id": pl.String})
    held = hold_out_pending(landing, unsent, truth)
    settings = ProductSettings(
        landing=landing, warehouse=root / "data" / "warehouse.duckdb", exports=root / "exports"
    )
    began = time.perf_counter()
    report = run_pipeline(settings)
    pipeline_seconds = time.perf_counter() - began
    if not report.completed:
        raise RuntimeError(f"seed {seed}: pipeline did not complete: {report.failed_steps}")
    began = time.perf_counter()
    context = ScoringContext.load(settings.warehouse, settings.models)
    load_seconds = time.perf_counter() - began
    request = read_request_folder(unsent)
    began = time.perf_counter()
    result = score_unsent(context, request.claims, request.notes if request.notes.height else None)
    score_seconds = time.perf_counter() - began
    t = truth.select(
        "claim_id",
        pl.col("line_number").cast(pl.Int64),
        "true_probability",
        "denied",
    )
    presub = result.lines.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        pl.col("denial_probability").cast(pl.Float64).alias("p"),
    ).join(t, on=["claim_id", "line_number"])
    daily = (
        daily_scores(settings.warehouse)
        .select(
            pl.col("claim_id").cast(pl.String),
            pl.col("line_number").cast(pl.Int64),
            pl.col("denial_probability").cast(pl.Float64).alias("p"),
        )
        .filter(~pl.col("claim_id").is_in(list(held)))
        .join(t, on=["claim_id", "line_number"])
    )
    held_lines = truth.filter(pl.col("claim_id").is_in(list(held))).height
    return {
        "seed": seed,
        "lines": lines,
        "held_out_claims": len(held),
        "held_out_64520_lines": held_lines,
        "rejected_rows": result.rejected.height,
        "presubmission": metrics(presub),
        "daily": metrics(daily),
        "difference_95ci": bootstrap_difference(presub, daily, seed),
        "seconds": {
            "pipeline": round(pipeline_seconds, 1),
            "context_load": round(load_seconds, 2),
            "score_unsent": round(score_seconds, 2),
        },
        "target_cpt": TARGET_CPT,
    }


def markdown(rows: list[dict]) -> str:
    out = [
        "| seed | path | lines | expected ROC AUC | ECE vs truth | ECE realized | mean pred / true |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for name in ("presubmission", "daily"):
            m = r[name]
            out.append(
                f"| {r['seed']} | {name} | {m['lines']:,} | {m['expected_roc_auc']:.3f} | "
                f"{m['ece_vs_truth']:.4f} | {m['ece_realized']:.4f} | "
                f"{m['mean_predicted']:.3f} / {m['mean_true_probability']:.3f} |"
            )
    out += [
        "",
        "| seed | Δ expected ROC AUC (95% CI) | Δ ECE vs truth (95% CI) | held out |",
        "|---|---|---|---|",
    ]
    for r in rows:
        a = r["presubmission"]["expected_roc_auc"] - r["daily"]["expected_roc_auc"]
        e = r["presubmission"]["ece_vs_truth"] - r["daily"]["ece_vs_truth"]
        ca, ce = r["difference_95ci"]["expected_roc_auc"], r["difference_95ci"]["ece_vs_truth"]
        out.append(
            f"| {r['seed']} | {a:+.3f} [{ca[0]:+.3f}, {ca[1]:+.3f}] | "
            f"{e:+.4f} [{ce[0]:+.4f}, {ce[1]:+.4f}] | {r['held_out_claims']} claims, "
            f"{r['rejected_rows']} rows rejected, scored in {r['seconds']['score_unsent']} s |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    rows = [evaluate_seed(args.work, args.lines, s) for s in args.seeds]
    args.out.write_text(
        json.dumps({"measured_at": datetime.now(UTC).isoformat(), "worlds": rows}, indent=2) + "\n"
    )
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
