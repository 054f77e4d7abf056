"""After a policy change: does the payer's pending-line calibration recover faster with weights?

One SYNTHETIC world with a planted prior-auth change; the product's assets build its modelling
table once. Then monthly retraining is replayed: at the first day of each month after the change,
labels adjudicated later are hidden and lines submitted later dropped; the detection runs on
the adjudications so far; the model is fitted twice, plain and with the payer's post-change
lines weighted (monitoring/weights.py) when an alert exists; both score the payer's lines
submitted in the following month, measured against the generator's truth: the ECE against the
drawn outcomes (noisy on one payer's month) and against the true probabilities (`expected_ece`,
free of that noise: the calibration the issue's target asks for, measurable on synthetic worlds).

    uv run python -m benchmarks.policy_drift_recovery --seeds 3 5 7 --lines 60000 [--change MCR-JH:2025-06:prior_auth]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

import duckdb
import numpy as np
import polars as pl

from benchmarks.policy_drift import build_world
from models.dataset import catalog_features
from models.evaluate import expected_calibration_error
from models.scoring import score
from models.train import fit
from monitoring.case_mix import MONITORED_LINES_SQL
from monitoring.policy_drift import detect, monthly_counts, with_month_text
from monitoring.weights import WEIGHT_COLUMN, policy_change_weights
from pipelines.sources.synthetic.world import PolicyChange, parse_policy_change

CHANGE = PolicyChange("IBX-PPO", date(2025, 6, 1), "prior_auth")


def add_months(d: date, n: int) -> date:
    index = d.year * 12 + d.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def as_of(lines: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    """The modelling table a run on `cutoff` would have seen (later remits not arrived yet)."""
    known = lines.filter(pl.col("submission_date") < cutoff)
    late = pl.col("adjudication_date").is_null() | (pl.col("adjudication_date") >= cutoff)
    return known.with_columns(
        pl.when(late).then(None).otherwise(pl.col("denied")).alias("denied"),
        pl.when(late).then(True).otherwise(pl.col("is_pending")).alias("is_pending"),
        pl.when(late).then(None).otherwise(pl.col("adjudication_date")).alias("adjudication_date"),
    )


def measure(p: np.ndarray, scored: pl.DataFrame) -> dict[str, float]:
    y = scored["denied_true"].to_numpy()
    truth = scored["true_probability"].to_numpy()
    return {
        "ece": round(expected_calibration_error(y, p), 4),
        "expected_ece": round(expected_calibration_error(truth, p), 4),
        "mean_abs_error_to_true_probability": round(float(np.mean(np.abs(p - truth))), 4),
        "mean_predicted": round(float(p.mean()), 4),
        "mean_true_probability": round(float(truth.mean()), 4),
        # The same lines scored by the true probability: the ECE floor of so few lines.
        "oracle_ece": round(expected_calibration_error(y, truth), 4),
    }


def replay(
    root: Path, warehouse: Path, months_after: int, change: PolicyChange = CHANGE
) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lines = con.sql(MONITORED_LINES_SQL).pl()
    truth = pl.read_parquet(root / "truth.parquet").select(
        "claim_id",
        pl.col("line_number").cast(lines.schema["line_number"]),
        pl.col("denied").alias("denied_true"),
        "true_probability",
    )
    features = catalog_features()
    rows = []
    for k in range(1, months_after + 1):
        cutoff = add_months(change.start, k)
        table = as_of(lines, cutoff)
        started = time.perf_counter()
        plain = fit(table.drop("adjudication_date"), features).artifact
        adjudicated = table.with_columns(
            pl.Series("case_mix", score(plain, table.drop("adjudication_date")))
        ).filter(pl.col("adjudication_date").is_not_null())
        alerts = with_month_text(detect(monthly_counts(adjudicated)))
        on_payer = alerts.filter(pl.col("payer_id") == change.payer_id)
        next_month = lines.filter(
            (pl.col("payer_id") == change.payer_id)
            & pl.col("submission_date").is_between(cutoff, add_months(cutoff, 1), closed="left")
        ).join(truth, on=["claim_id", "line_number"])
        record = {
            "cutoff": cutoff.isoformat(),
            "months_after_change": k,
            "alert": on_payer.select("reason_category", "change_month", "alert_month").to_dicts(),
            "scored_lines": next_month.height,
            "plain": measure(
                score(
                    plain, next_month.drop("adjudication_date", "denied_true", "true_probability")
                ),
                next_month,
            ),
        }
        if on_payer.height:
            weighted_table = policy_change_weights(table, on_payer)
            weighted = fit(
                weighted_table.drop("adjudication_date"), features, sample_weight=WEIGHT_COLUMN
            ).artifact
            record["weighted"] = measure(
                score(
                    weighted,
                    next_month.drop("adjudication_date", "denied_true", "true_probability"),
                ),
                next_month,
            )
        record["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(record), flush=True)
        rows.append(record)
    return rows


def summarise(runs: list[dict]) -> list[dict]:
    """Per month after the change: mean ECE and error to the true probability, plain vs weighted."""
    out = []
    months = sorted({r["months_after_change"] for run in runs for r in run["months"]})
    for k in months:
        rows = [r for run in runs for r in run["months"] if r["months_after_change"] == k]
        row: dict = {"months_after_change": k, "worlds": len(rows)}
        for variant in ("plain", "weighted"):
            have = [r for r in rows if variant in r]
            if variant == "weighted":
                row["worlds_with_alert"] = len(have)
            for metric in (
                "ece",
                "expected_ece",
                "mean_abs_error_to_true_probability",
                "oracle_ece",
            ):
                values = [r[variant][metric] for r in have]
                row[f"{variant}_{metric}"] = round(float(np.mean(values)), 4) if values else None
        # Plain retraining on the same worlds as the weighted one, for a like-for-like pair.
        paired = [r for r in rows if "weighted" in r]
        for metric in ("ece", "expected_ece", "mean_abs_error_to_true_probability"):
            values = [r["plain"][metric] for r in paired]
            row[f"plain_same_worlds_{metric}"] = (
                round(float(np.mean(values)), 4) if values else None
            )
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[3])
    parser.add_argument("--lines", type=int, default=60_000)
    parser.add_argument("--months", type=int, default=4)
    parser.add_argument(
        "--change",
        type=parse_policy_change,
        default=CHANGE,
        metavar="PAYER:YYYY-MM:KIND",
        help="the planted change to recover from (default IBX-PPO:2025-06:prior_auth)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs = []
    for seed in args.seeds:
        with TemporaryDirectory() as tmp:
            root = Path(tmp)
            warehouse = build_world(root, seed, args.lines, (args.change,))
            runs.append({"seed": seed, "months": replay(root, warehouse, args.months, args.change)})
    summary = summarise(runs)
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "lines": args.lines,
            "change": args.change.as_record(),
            "load_average_before_and_after": [
                [round(x, 2) for x in load_before],
                [round(x, 2) for x in os.getloadavg()],
            ],
            "runs": runs,
            "summary": summary,
        }
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
