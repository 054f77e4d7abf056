"""Policy drift benchmark: detection lag on planted changes and false alarms on worlds without.

For each seed: a SYNTHETIC world with four planted policy changes (one of each kind) and one
without planted changes (both keep the generator's two built-in changes), each run through the
product's ingest, features and training assets; then the drift detection month by month of
adjudication, with the case mix from the champion's scores and from the rules scrubber.

    uv run python -m benchmarks.policy_drift --seeds 3 5 7 --lines 60000 --out benchmarks/results/policy-drift.json

Lag = months from the change month to the alert month (0: alerted with the change month's own
adjudications). A false alarm is an alert on a payer with no change, or dated more than one
month before its payer's change.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Protocol

import dagster as dg
import duckdb
import polars as pl

from models.registry import load_champion
from monitoring.case_mix import MONITORED_LINES_SQL, with_case_mix
from monitoring.policy_drift import DriftSettings, detect, monthly_counts
from pipelines.defs.features.assets import modelling_table
from pipelines.defs.ingest import assets as ingest
from pipelines.defs.model.assets import denial_model
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings
from pipelines.sources.synthetic import generate_world
from pipelines.sources.synthetic.world import PolicyChange, builtin_policy_changes

PLANTED: tuple[PolicyChange, ...] = (
    PolicyChange("IBX-PPO", date(2025, 6, 1), "prior_auth"),
    PolicyChange("UHC-MA", date(2025, 8, 1), "frequency"),
    PolicyChange("MCR-JH", date(2025, 9, 1), "bilateral_rtlt"),
    PolicyChange("TRAVELERS-WC", date(2025, 10, 1), "documentation"),
)
# The reason category each kind should be reported under (the product's CARC category map).
EXPECTED_CATEGORY = {
    "prior_auth": {"Invalid/Missing Authorization"},
    "bilateral_rtlt": {"Billing Error: Invalid Code"},
    # CARC 119 and 151 (data_contracts/reference/carc_denial_category_map.csv).
    "frequency": {"Frequency/Units"},
    "documentation": {"Additional Information Requested"},
}


class Change(Protocol):
    """A planted or built-in policy change as the evaluation reads it (either generator's)."""

    @property
    def payer_id(self) -> str: ...
    @property
    def start(self) -> date: ...
    @property
    def first_month(self) -> str: ...
    @property
    def kind(self) -> str: ...


# Months before which a payer cannot be tested (baseline of at least three months) are not
# counted as monitored payer-months.
FIRST_TESTABLE_MONTHS = 3


def months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def build_world(root: Path, seed: int, lines: int, planted: tuple[PolicyChange, ...]) -> Path:
    """Generate, ingest, build features and train; the warehouse path."""
    landing = root / "landing"
    truth = root / "truth.parquet"
    generate_world(landing, lines=lines, seed=seed, truth=truth, policy_changes=planted)
    return build_warehouse(root, landing)


def build_warehouse(root: Path, landing: Path) -> Path:
    """Ingest a landing folder, build features and train the champion; the warehouse path."""
    settings = ProductSettings(
        landing=landing, warehouse=root / "wh" / "warehouse.duckdb", exports=root / "exports"
    )
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    result = dg.materialize(
        [
            ingest.reference_tables,
            ingest.staged_claim_lines,
            ingest.staged_remits,
            ingest.staged_notes,
            ingest.line_outcomes,
            modelling_table,
            denial_model,
        ],
        resources=build_resources(settings),
    )
    if not result.success:
        raise RuntimeError(f"pipeline failed on {landing}")
    return settings.warehouse


def true_jump(root: Path, change: PolicyChange) -> tuple[float, float]:
    """(true denial probability before, in the first three months after) for the payer's lines."""
    truth = pl.read_parquet(root / "truth.parquet")
    claims = pl.read_csv(
        root / "landing" / "claims" / "*.csv", infer_schema=False, columns=None
    ).filter((pl.col("cpt_code") == "64520") & (pl.col("payer_id") == change.payer_id))
    lines = claims.select(
        "claim_id", pl.col("line_number").cast(pl.Int64), pl.col("service_date").str.to_date()
    ).join(truth, on=["claim_id", "line_number"])
    start = change.start
    end = date(start.year + (start.month + 2) // 12, (start.month + 2) % 12 + 1, 1)
    before = lines.filter(pl.col("service_date") < start)["true_probability"].mean()
    after = lines.filter(pl.col("service_date").is_between(start, end, closed="left"))[
        "true_probability"
    ].mean()
    return float(before), float(after)


def evaluate(
    warehouse: Path,
    changes: Sequence[Change],
    settings: DriftSettings,
    expected: Mapping[str, set[str]] = EXPECTED_CATEGORY,
) -> dict[str, dict]:
    """Per case-mix source: the alerts, lags of known changes and false alarms.

    `expected` names the reason categories each kind of change should be reported under.
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lines = con.sql(MONITORED_LINES_SQL).pl()
    champion = load_champion(warehouse.parent / "models")
    by_payer = {c.payer_id: c for c in changes}
    out: dict[str, dict] = {}
    for source in ("model", "scrubber"):
        started = time.perf_counter()
        monitored = with_case_mix(lines, champion, source)
        counts = monthly_counts(monitored.filter(pl.col("adjudication_date").is_not_null()))
        alerts = detect(counts, settings)
        seconds = time.perf_counter() - started
        months = sorted(counts["month"].unique().to_list())
        lags: dict[str, dict] = {}
        false_alarms = []
        for alert in alerts.iter_rows(named=True):
            change = by_payer.get(alert["payer_id"])
            if change is None or months_between(change.start, alert["change_month"]) < -1:
                false_alarms.append(alert)
                continue
            key = f"{change.payer_id}:{change.first_month}:{change.kind}"
            lag = months_between(change.start, alert["alert_month"])
            if key not in lags or lag < lags[key]["lag_months"]:
                lags[key] = {
                    "lag_months": lag,
                    "reason_category": alert["reason_category"],
                    "category_as_expected": alert["reason_category"] in expected[change.kind],
                    "estimated_change_month": alert["change_month"].strftime("%Y-%m"),
                    "rate_before": round(alert["rate_before"], 4),
                    "rate_after": round(alert["rate_after"], 4),
                    "expected_rate_after": round(alert["expected_rate_after"], 4),
                    "lines_after": alert["lines_after"],
                }
        missed = [
            f"{c.payer_id}:{c.first_month}:{c.kind}"
            for c in changes
            if f"{c.payer_id}:{c.first_month}:{c.kind}" not in lags and c.start <= months[-1]
        ]
        # Monitored payer-months: payers without a change, from the fourth month of data.
        payers = set(counts["payer_id"].unique().to_list()) - set(by_payer)
        testable = max(0, len(months) - FIRST_TESTABLE_MONTHS)
        out[source] = {
            "alerts": alerts.height,
            "detections": lags,
            "missed": missed,
            "false_alarms": [
                {
                    "payer_id": a["payer_id"],
                    "reason_category": a["reason_category"],
                    "alert_month": a["alert_month"].strftime("%Y-%m"),
                    "rate_before": round(a["rate_before"], 4),
                    "rate_after": round(a["rate_after"], 4),
                    "expected_rate_after": round(a["expected_rate_after"], 4),
                }
                for a in false_alarms
            ],
            "unchanged_payer_years": round(len(payers) * testable / 12, 2),
            "detection_seconds": round(seconds, 2),
        }
    return out


def summarise(results: list[dict]) -> dict[str, dict]:
    """Median and worst lag (target-size changes), false alarms per 20 payer-years, by source."""
    summary = {}
    for source in ("model", "scrubber"):
        lags = [
            d["lag_months"] for r in results for d in r["evaluation"][source]["detections"].values()
        ]
        missed = sum(len(r["evaluation"][source]["missed"]) for r in results)
        fa = sum(len(r["evaluation"][source]["false_alarms"]) for r in results)
        years = sum(r["evaluation"][source]["unchanged_payer_years"] for r in results)
        right = sum(
            d["category_as_expected"]
            for r in results
            for d in r["evaluation"][source]["detections"].values()
        )
        summary[source] = {
            "changes_detected": len(lags),
            "changes_missed": missed,
            "median_lag_months": statistics.median(lags) if lags else None,
            "worst_lag_months": max(lags) if lags else None,
            "reason_category_as_expected": right,
            "false_alarms": fa,
            "unchanged_payer_years": round(years, 1),
            "false_alarms_per_20_payer_years": round(20 * fa / years, 2) if years else None,
        }
    return summary


def evaluate_by_fdr(
    warehouse: Path,
    changes: Sequence[Change],
    fdrs: Sequence[float],
    expected: Mapping[str, set[str]] = EXPECTED_CATEGORY,
) -> dict[str, dict]:
    """`evaluate` at each Benjamini–Hochberg level (the other settings as shipped), keyed by level."""
    return {str(q): evaluate(warehouse, changes, DriftSettings(fdr=q), expected) for q in fdrs}


def summaries(results: list[dict]) -> dict[str, dict]:
    """Planted worlds, worlds without planted changes and all worlds, summarised."""
    return {
        "planted_worlds": summarise([r for r in results if r["planted"]]),
        "worlds_without_planted_changes": summarise([r for r in results if not r["planted"]]),
        "all_worlds": summarise(results),
    }


def summaries_by_fdr(results: list[dict]) -> dict[str, dict]:
    """`summaries` for every level in the runs' `evaluation_by_fdr`."""
    levels = results[0].get("evaluation_by_fdr", {}) if results else {}
    return {
        q: summaries([{**r, "evaluation": r["evaluation_by_fdr"][q]} for r in results])
        for q in levels
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 7])
    parser.add_argument("--lines", type=int, default=60_000)
    parser.add_argument(
        "--fdr",
        type=float,
        nargs="*",
        default=[],
        help="also evaluate at these Benjamini-Hochberg levels (the shipped one is always run)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    settings = DriftSettings()
    load_before = os.getloadavg()
    results = []
    for seed in args.seeds:
        for planted in (PLANTED, ()):
            started = time.perf_counter()
            with TemporaryDirectory() as tmp:
                root = Path(tmp)
                warehouse = build_world(root, seed, args.lines, planted)
                changes = (*planted, *builtin_policy_changes())
                jumps = {
                    f"{c.payer_id}:{c.first_month}:{c.kind}": [
                        round(x, 4) for x in true_jump(root, c)
                    ]
                    for c in changes
                }
                evaluation = evaluate(warehouse, changes, settings)
                by_fdr = evaluate_by_fdr(warehouse, changes, args.fdr)
            record = {
                "seed": seed,
                "lines": args.lines,
                "planted": [c.as_record() for c in planted],
                "true_rate_before_and_first_quarter_after": jumps,
                "evaluation": evaluation,
                "seconds": round(time.perf_counter() - started, 1),
            }
            if by_fdr:
                record["evaluation_by_fdr"] = by_fdr
            results.append(record)
            print(json.dumps(record), flush=True)
    summary = summaries(results)
    by_fdr = summaries_by_fdr(results)
    print(json.dumps({"summary": summary, "summary_by_fdr": by_fdr}, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "settings": settings.__dict__,
            "load_average_before_and_after": [
                [round(x, 2) for x in load_before],
                [round(x, 2) for x in os.getloadavg()],
            ],
            "runs": results,
            "summary": summary,
        }
        if by_fdr:
            payload["summary_by_fdr"] = by_fdr
        args.out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
