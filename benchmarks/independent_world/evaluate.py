"""Generate an independent world, run the real pipeline on it as the CLI does, compare with the truth.

`uv run python -m benchmarks.independent_world.evaluate --out /tmp/indep --lines 100000 --seed 1`
prints the pending-line table (champion, logistic regression, rules scrubber, oracle), the gap to
the oracle, the ingest accounting (rows read / loaded / quarantined by reason against the planted
defects) and how often the warehouse label agrees with the generator's drawn outcome.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from benchmarks.independent_world.generate import Summary, generate_independent_world
from data_contracts.input_contract import TARGET_CPT
from pipelines.oracle import evaluate_against_truth
from pipelines.runner import EXIT_SET_ASIDE, run_pipeline
from pipelines.settings import ProductSettings

log = logging.getLogger(__name__)


@dataclass
class WorldEvaluation:
    """Everything measured on one independent world."""

    seed: int
    lines: int
    summary: Summary
    exit_code: int
    failed_steps: list[tuple[str, str]]
    metrics: list[dict]
    ingest: dict[str, dict[str, int]]
    quarantined: dict[str, dict[str, int]]
    label_agreement: float
    labelled_lines_compared: int
    seconds: dict[str, float] = field(default_factory=dict)

    def metric(self, scorer: str, name: str) -> float:
        """One value of the oracle table, e.g. metric('model', 'roc_auc')."""
        return next(float(m[name]) for m in self.metrics if m["scorer"] == scorer)

    @property
    def oracle_gap(self) -> float:
        return self.metric("oracle", "roc_auc") - self.metric("model", "roc_auc")


def ingest_accounting(
    warehouse: Path,
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Rows read/loaded/quarantined per folder, and quarantined rows per folder and reason."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ledger = con.sql(
            "SELECT folder, sum(rows_read), sum(rows_loaded), sum(rows_quarantined), count(*) "
            "FROM ingest_ledger GROUP BY folder"
        ).fetchall()
        reasons = con.sql(
            "SELECT folder, reason, count(*) FROM quarantined_rows GROUP BY ALL"
        ).fetchall()
    ingest = {
        f: {
            "rows_read": int(r),
            "rows_loaded": int(lo),
            "rows_quarantined": int(q),
            "files": int(n),
        }
        for f, r, lo, q, n in ledger
    }
    quarantined: dict[str, dict[str, int]] = {}
    for folder, reason, n in reasons:
        quarantined.setdefault(folder, {})[reason] = int(n)
    return ingest, quarantined


def label_agreement(warehouse: Path, truth: Path) -> tuple[float, int]:
    """Share of remitted 64520 lines whose warehouse label equals the generator's drawn outcome."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        outcomes = con.sql(
            "SELECT o.claim_id, o.line_number, o.denied FROM line_outcomes o "
            "JOIN staged_claim_lines c USING (claim_id, line_number) "
            f"WHERE c.cpt_code = '{TARGET_CPT}' AND o.denied IS NOT NULL"
        ).pl()
    drawn = pl.read_csv(truth, schema_overrides={"claim_id": pl.String}).filter(
        pl.col("pending") == 0
    )
    joined = outcomes.with_columns(pl.col("line_number").cast(pl.Int64)).join(
        drawn.select("claim_id", "line_number", "denied"),
        on=["claim_id", "line_number"],
        suffix="_truth",
    )
    if joined.height == 0:
        return 0.0, 0
    agree = (joined["denied"].cast(pl.Int64) == joined["denied_truth"]).mean()
    return float(agree), joined.height


def evaluate_world(work: Path, lines: int, seed: int) -> WorldEvaluation:
    """Generate into `work`/landing, run the full asset graph, evaluate against the truth."""
    if work.exists():
        shutil.rmtree(work)
    landing, truth = work / "landing", work / "truth_64520.csv"
    settings = ProductSettings(
        landing=landing, warehouse=work / "warehouse.duckdb", exports=work / "exports"
    )
    timings: dict[str, float] = {}
    began = time.perf_counter()
    summary = generate_independent_world(landing, truth, lines, seed)
    timings["generate"] = time.perf_counter() - began
    began = time.perf_counter()
    report = run_pipeline(settings)
    timings["pipeline"] = time.perf_counter() - began
    metrics: list[dict] = []
    if report.completed:
        began = time.perf_counter()
        table = evaluate_against_truth(settings, truth)
        timings["evaluate"] = time.perf_counter() - began
        metrics = table.to_dicts()
    ingest, quarantined = ingest_accounting(settings.warehouse)
    agreement, compared = label_agreement(settings.warehouse, truth)
    return WorldEvaluation(
        seed=seed,
        lines=lines,
        summary=summary,
        exit_code=report.exit_code,
        failed_steps=list(report.failed_steps),
        metrics=metrics,
        ingest=ingest,
        quarantined=quarantined,
        label_agreement=agreement,
        labelled_lines_compared=compared,
        seconds=timings,
    )


def markdown(result: WorldEvaluation) -> str:
    """The measured table and the ingest accounting as Markdown."""
    s = result.summary
    out = [
        f"World seed {result.seed}, {s.lines:,} lines: {s.lines_64520:,} 64520 lines "
        f"({s.labelled_64520:,} labelled, denial rate {s.denial_rate_labelled:.3f}; "
        f"{s.pending_64520:,} pending). Pipeline exit code {result.exit_code}; "
        f"generate {result.seconds.get('generate', 0):.1f} s, pipeline "
        f"{result.seconds.get('pipeline', 0):.1f} s.",
        "",
        "| scorer | lines | ROC AUC | PR AUC | Brier | ECE | log loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in result.metrics:
        out.append(
            f"| {m['scorer']} | {m['lines']:,} | {m['roc_auc']:.3f} | {m['pr_auc']:.3f} | "
            f"{m['brier']:.4f} | {m['ece']:.3f} | {m['log_loss']:.3f} |"
        )
    if result.metrics:
        out.append("")
        out.append(
            f"Gap to the oracle (ROC AUC): model {result.oracle_gap:.3f}, logistic "
            f"{result.metric('oracle', 'roc_auc') - result.metric('logistic_regression', 'roc_auc'):.3f}; "
            f"model over scrubber {result.metric('model', 'roc_auc') - result.metric('rules_scrubber', 'roc_auc'):+.3f}."
        )
    out += [
        "",
        "| folder | rows written | read | loaded | quarantined | by reason (planted) |",
        "|---|---|---|---|---|---|",
    ]
    for folder, written in s.rows_written.items():
        ing = result.ingest.get(folder, {})
        reasons = ", ".join(
            f"{r} {n} ({s.planted.get(folder, {}).get(r, 0)})"
            for r, n in sorted(result.quarantined.get(folder, {}).items())
        )
        out.append(
            f"| {folder} | {written:,} | {ing.get('rows_read', 0):,} | {ing.get('rows_loaded', 0):,} | "
            f"{ing.get('rows_quarantined', 0):,} | {reasons or '-'} |"
        )
    out.append("")
    out.append(
        f"Warehouse label = drawn outcome on {result.label_agreement:.4f} of "
        f"{result.labelled_lines_compared:,} remitted 64520 lines."
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Evaluate one or more seeds and print Markdown (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out", type=Path, required=True, help="scratch folder (one sub-folder per seed)"
    )
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--seed", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    results = []
    for seed in args.seed:
        result = evaluate_world(args.out / f"seed{seed}_{args.lines}", args.lines, seed)
        sys.stdout.write(markdown(result) + "\n\n")
        sys.stdout.flush()
        results.append(result)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2, default=str))
    return 0 if all(r.exit_code in (0, EXIT_SET_ASIDE) for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
