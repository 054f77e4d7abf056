"""Policy drift on independent worlds: detection lag, reason category and false alarms.

The same detection and evaluation as `benchmarks/policy_drift.py`, on worlds written apart from
the project's generator (`benchmarks/independent_world`), whose policy shifts have their own
mechanics and CARCs (`benchmarks/independent_world/policy.py`). For each seed: a world with four
planted shifts (one of each kind) and one without (both keep the world's own Anthem RT/LT change
of 2026-01), each run through the product's ingest, features and training assets.

    uv run python -m benchmarks.policy_drift_independent --seeds 3 5 7 --lines 60000 --out benchmarks/results/policy-drift-independent.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from datetime import date
from pathlib import Path
from tempfile import TemporaryDirectory

from benchmarks.independent_world.generate import generate_independent_world
from benchmarks.independent_world.policy import BUILTIN_SHIFTS, PolicyShift, parse_policy_shift
from benchmarks.policy_drift import (
    build_warehouse,
    evaluate,
    evaluate_by_fdr,
    summaries,
    summaries_by_fdr,
)
from data_contracts.input_contract import TARGET_CPT
from monitoring.policy_drift import DriftSettings

# Payers of the independent practice (64520 lines a month at 60k lines): HUM-MAPD ~61 (authorizes
# new patients only before), UHC-MA ~41, OH-BWC ~46 (one -50 line before), AET-OA ~43.
PLANTED: tuple[PolicyShift, ...] = tuple(
    parse_policy_shift(s)
    for s in (
        "HUM-MAPD:2025-06:prior_auth",
        "UHC-MA:2025-08:frequency_cap",
        "OH-BWC:2025-09:rtlt_only",
        "AET-OA:2025-10:records_review",
    )
)
# The product's category (data_contracts/reference/carc_denial_category_map.csv) of the CARCs
# each kind of shift is denied with (policy.py).
EXPECTED_CATEGORY: dict[str, set[str]] = {
    "prior_auth": {"Invalid/Missing Authorization"},  # CO-15, CO-197
    "rtlt_only": {"Billing Error: Invalid Code"},  # CO-4
    "frequency_cap": {"Frequency/Units"},  # CO-119, CO-151
    "records_review": {"Additional Information Requested"},  # CO-252, CO-226
}


def _add_months(day: date, months: int) -> date:
    years, month = divmod(day.month - 1 + months, 12)
    return date(day.year + years, month + 1, 1)


def true_jumps(landing: Path, truth: Path, shifts: tuple[PolicyShift, ...]) -> dict[str, list]:
    """Per shift: true denial probability of its payer's 64520 lines before and in the first
    three months after (by service date), and the payer's 64520 lines a month before."""
    service: dict[tuple[str, str], str] = {}
    for path in sorted((landing / "claims").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["cpt_code"] == TARGET_CPT:
                    service[(row["claim_id"], row["line_number"])] = row["service_date"]
    with truth.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = {}
    for shift in shifts:
        end = _add_months(shift.start, 3).isoformat()
        start = shift.start.isoformat()
        before, after, months = [], [], set()
        for row in rows:
            day = service.get((row["claim_id"], row["line_number"]))
            if row["payer_id"] != shift.payer_id or day is None:
                continue
            if day < start:
                before.append(float(row["true_probability"]))
                months.add(day[:7])
            elif day < end:
                after.append(float(row["true_probability"]))
        out[shift.label] = [
            round(sum(before) / max(1, len(before)), 4),
            round(sum(after) / max(1, len(after)), 4),
            round(len(before) / max(1, len(months)), 1),
        ]
    return out


def run_world(
    seed: int,
    lines: int,
    planted: tuple[PolicyShift, ...],
    settings: DriftSettings,
    fdrs: tuple[float, ...] = (),
) -> dict:
    """Generate one independent world, build its warehouse and evaluate the detection."""
    started = time.perf_counter()
    with TemporaryDirectory() as tmp:
        root = Path(tmp)
        landing, truth = root / "landing", root / "truth.csv"
        generate_independent_world(landing, truth, lines, seed, planted)
        warehouse = build_warehouse(root, landing)
        changes = (*planted, *BUILTIN_SHIFTS)
        jumps = true_jumps(landing, truth, changes)
        evaluation = evaluate(warehouse, changes, settings, EXPECTED_CATEGORY)
        by_fdr = evaluate_by_fdr(warehouse, changes, fdrs, EXPECTED_CATEGORY)
    record = {
        "seed": seed,
        "lines": lines,
        "planted": [s.label for s in planted],
        "built_in": [s.label for s in BUILTIN_SHIFTS],
        "true_rate_before_first_quarter_after_and_lines_a_month": jumps,
        "evaluation": evaluation,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if by_fdr:
        record["evaluation_by_fdr"] = by_fdr
    return record


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
            record = run_world(seed, args.lines, planted, settings, tuple(args.fdr))
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
