"""Learning curve: LightGBM against the simpler models as the practice grows (issue 17).

`uv run python -m benchmarks.learning_curve --work /tmp/lc --sizes 5000 10000 20000 50000 100000
--default-seeds 7 11 23 --independent-seeds 1 2 3`

Per generator (the project's, `pipelines.sources.synthetic`, and the independent one in
`benchmarks/independent_world/`), size and seed: a SYNTHETIC world is written once into
`<work>/<generator><seed>_<lines>/` (landing + truth), the real pipeline builds its modelling
table (Dagster, up to `modelling_table`), and on the table's 64520 lines three models are fitted
with the product's training code: depth-4 LightGBM (`model_kind="trees"`), the small-practice
fallback (`model_kind="linear"`, regularised logistic regression with the same calibration) and the
logistic-regression baseline of `models/baselines.py` (uncalibrated) fitted on every
labelled line. Each is scored on the pending lines against the truth: ROC AUC, the expected ROC
AUC (noise-free), ECE with 10 equal-count bins (realized and against the true probability) and
the mean prediction against the realized and true rates. Raw rows go to
`benchmarks/results/learning_curve.json`, the figure to `docs/img/learning_curve.png`.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from data_contracts.input_contract import TARGET_CPT
from models.baselines import fit_logistic_baseline
from models.dataset import catalog_features, feature_matrix, labelled, pending
from models.evaluate import equal_count_ece, expected_roc_auc
from models.train import MIN_LABELLED_LINES_FOR_TREES, fit

log = logging.getLogger("benchmarks.learning_curve")

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "learning_curve.json"
FIGURE = ROOT.parent / "docs" / "img" / "learning_curve.png"
MODELS = ("lightgbm", "linear", "logistic")


def world_dir(work: Path, generator: str, seed: int, lines: int) -> Path:
    return work / f"{generator}{seed}_{lines}"


def prepare_world(work: Path, generator: str, seed: int, lines: int) -> Path:
    """Write the world (once) and export its modelling table to `table.parquet` (once)."""
    folder = world_dir(work, generator, seed, lines)
    landing, truth = folder / "landing", folder / "truth.csv"
    if not truth.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        if generator == "independent":
            from benchmarks.independent_world.generate import generate_independent_world

            generate_independent_world(landing, truth, lines, seed)
        else:
            from pipelines.sources.synthetic import generate_world

            generate_world(landing, lines=lines, seed=seed, truth=truth, fmt="csv")
    table = folder / "table.parquet"
    if not table.is_file():
        import dagster as dg
        import duckdb

        from pipelines.runner import run_pipeline
        from pipelines.settings import ProductSettings

        settings = ProductSettings(
            landing=landing, warehouse=folder / "wh" / "warehouse.duckdb", exports=folder / "exp"
        )
        report = run_pipeline(
            settings, selection=dg.AssetSelection.assets("modelling_table").upstream()
        )
        if report.failed_steps:
            raise RuntimeError(f"{folder}: pipeline failed: {report.failed_steps}")
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            con.sql(f"COPY (SELECT * FROM modelling_table) TO '{table}' (FORMAT parquet)")
    return folder


def pending_metrics(p: np.ndarray, y: np.ndarray, true_p: np.ndarray) -> dict[str, float]:
    """Pending-line figures of one score against the drawn outcomes and the true probabilities."""
    from sklearn.metrics import roc_auc_score

    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "expected_roc_auc": expected_roc_auc(p, true_p),
        "ece": equal_count_ece(y, p),
        "expected_ece": equal_count_ece(true_p, p),
        "mean_probability": float(p.mean()),
        "realized_rate": float(y.mean()),
        "true_rate": float(true_p.mean()),
    }


def evaluate_world(folder: Path) -> list[dict[str, Any]]:
    """Fit the three models on one world's table and score its pending lines against the truth."""
    table = pl.read_parquet(folder / "table.parquet").filter(pl.col("cpt_code") == TARGET_CPT)
    truth = pl.read_csv(folder / "truth.csv").select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        pl.col("true_probability").cast(pl.Float64),
        pl.col("denied").cast(pl.Int64).alias("truth_denied"),
    )
    table = table.with_columns(
        pl.col("claim_id").cast(pl.String), pl.col("line_number").cast(pl.Int64)
    )
    features = catalog_features()
    pend = pending(table).join(truth, on=["claim_id", "line_number"], how="inner")
    y = pend.get_column("truth_denied").to_numpy()
    true_p = pend.get_column("true_probability").to_numpy()
    rows = []
    base = {
        "labelled_lines": labelled(table).height,
        "pending_lines": pend.height,
        "oracle_roc_auc": float(__import__("sklearn.metrics").metrics.roc_auc_score(y, true_p)),
        "oracle_ece": equal_count_ece(y, true_p),
    }
    for kind in ("trees", "linear"):
        started = time.perf_counter()
        art = fit(table, features, {"model_kind": kind}).artifact
        p = art.probability(feature_matrix(pend, art.features, art.categories))
        rows.append(
            {
                "model": "lightgbm" if kind == "trees" else "linear",
                **base,
                **pending_metrics(p, y, true_p),
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
    started = time.perf_counter()
    logistic = fit_logistic_baseline(labelled(table), features)
    rows.append(
        {
            "model": "logistic",
            **base,
            **pending_metrics(logistic.predict(pend), y, true_p),
            "seconds": round(time.perf_counter() - started, 2),
        }
    )
    return rows


def run(
    work: Path, sizes: list[int], seeds: dict[str, list[int]], out: Path
) -> list[dict[str, Any]]:
    """Every (generator, size, seed); results appended to `out` as they come (re-runs resume)."""
    done: list[dict[str, Any]] = json.loads(out.read_text())["rows"] if out.is_file() else []
    seen = {(r["generator"], r["lines"], r["seed"]) for r in done}
    for generator, generator_seeds in seeds.items():
        for lines in sizes:
            for seed in generator_seeds:
                if (generator, lines, seed) in seen:
                    continue
                started = time.perf_counter()
                folder = prepare_world(work, generator, seed, lines)
                for row in evaluate_world(folder):
                    done.append({"generator": generator, "lines": lines, "seed": seed, **row})
                log.info(
                    "%s %d seed %d: %.0f s", generator, lines, seed, time.perf_counter() - started
                )
                write_results(done, out)
    return done


def write_results(rows: list[dict[str, Any]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"written_at": datetime.now(UTC).isoformat(), "synthetic": True, "rows": rows}
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(out)


def summary(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Mean and worst over seeds per generator, size and model."""
    return (
        pl.DataFrame(rows)
        .group_by("generator", "lines", "model")
        .agg(
            pl.col("labelled_lines").mean().round(0),
            pl.col("pending_lines").mean().round(0),
            pl.col("seed").count().alias("seeds"),
            pl.col("expected_roc_auc").mean().alias("expected_roc_auc"),
            pl.col("roc_auc").mean().alias("roc_auc"),
            pl.col("ece").mean().alias("ece"),
            pl.col("ece").max().alias("ece_worst"),
            pl.col("expected_ece").mean().alias("expected_ece"),
            (pl.col("mean_probability") - pl.col("true_rate")).mean().alias("mean_minus_true"),
            pl.col("oracle_ece").mean().alias("oracle_ece"),
        )
        .sort("generator", "lines", "model")
    )


def figure(rows: list[dict[str, Any]], path: Path) -> bool:
    """Expected ROC AUC and expected ECE against labelled lines, per generator and model."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from models.figures import write_png

    table = summary(rows)
    generators = table.get_column("generator").unique(maintain_order=True).to_list()
    fig = make_subplots(
        rows=2,
        cols=len(generators),
        subplot_titles=[
            f"{g}: {metric}"
            for metric in ("expected ROC AUC (pending)", "expected ECE (pending)")
            for g in generators
        ],
        shared_xaxes=True,
    )
    colours = {"lightgbm": "#1f77b4", "linear": "#2ca02c", "logistic": "#ff7f0e"}
    for col, generator in enumerate(generators, start=1):
        for model in MODELS:
            part = table.filter((pl.col("generator") == generator) & (pl.col("model") == model))
            for row, metric in ((1, "expected_roc_auc"), (2, "expected_ece")):
                fig.add_trace(
                    go.Scatter(
                        x=part.get_column("labelled_lines").to_list(),
                        y=part.get_column(metric).to_list(),
                        mode="lines+markers",
                        name=model,
                        legendgroup=model,
                        showlegend=(row == 1 and col == 1),
                        line={"color": colours[model]},
                    ),
                    row=row,
                    col=col,
                )
        fig.update_xaxes(type="log", row=1, col=col)
        fig.update_xaxes(type="log", title_text="labelled 64520 lines", row=2, col=col)
        for row in (1, 2):
            label = {"annotation_text": "fallback below"} if row == 1 else {}
            fig.add_vline(
                x=MIN_LABELLED_LINES_FOR_TREES,
                line_dash="dot",
                line_color="grey",
                row=row,
                col=col,
                **label,
            )
    fig.update_layout(
        title="Learning curve on SYNTHETIC worlds (mean over seeds)", width=1000, height=650
    )
    return write_png(fig, path, width=1000, height=650)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, required=True, help="folder for the worlds")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000, 50000, 100000])
    parser.add_argument("--default-seeds", type=int, nargs="*", default=[7, 11])
    parser.add_argument("--independent-seeds", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--figure", type=Path, default=FIGURE)
    parser.add_argument("--figure-only", action="store_true", help="redraw from --out")
    args = parser.parse_args(argv)
    if args.figure_only:
        figure(json.loads(args.out.read_text())["rows"], args.figure)
        return 0
    logging.basicConfig(level=logging.INFO)
    seeds = {"default": args.default_seeds, "independent": args.independent_seeds}
    rows = run(args.work, args.sizes, {g: s for g, s in seeds.items() if s}, args.out)
    with pl.Config(tbl_rows=100, tbl_cols=20, tbl_width_chars=200):
        print(summary(rows))
    figure(rows, args.figure)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
