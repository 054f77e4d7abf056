"""Synthetic worlds only: measure the champion and the baselines against the generator's truth.

The comparison is the `oracle_evaluation` asset (pipelines/defs/model/oracle.py): the scheduled
pipeline never sees the truth file; `denial-risk demo` and `denial-risk evaluate --truth` run that
asset (and the snapshot and report after it) through Dagster with the truth configured.
"""

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.input_contract import TARGET_CPT
from models.baselines import fit_logistic_baseline, rules_scrubber_score
from models.dataset import out_of_time_split, pending
from models.evaluate import oracle_comparison
from models.registry import load_champion, record_oracle_evaluation
from models.scoring import score
from pipelines.settings import ProductSettings

log = logging.getLogger(__name__)

REPORTED_METRICS = (
    "roc_auc",
    "expected_roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "ece_equal_count",
    "expected_ece",
    "mean_probability",
    "denial_rate",
    "log_loss",
)
ORACLE_DDL = """
CREATE TABLE IF NOT EXISTS oracle_evaluation (
    evaluated_at TIMESTAMPTZ,
    model_version VARCHAR,
    scorer VARCHAR,
    metric VARCHAR,
    value DOUBLE,
    lines BIGINT
)
"""


def read_truth(path: Path) -> pl.DataFrame:
    """The generator's truth file (CSV or Parquet) with the columns the comparison needs."""
    if not path.is_file():
        raise FileNotFoundError(
            f"truth file {path} does not exist (write it with generate --truth)"
        )
    frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
    missing = {"claim_id", "line_number", "true_probability", "denied"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: truth file lacks columns {sorted(missing)}")
    return frame


def pending_scores(models_root: Path, table: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """Champion, logistic-regression and scrubber probabilities of every pending 64520 line."""
    champion = load_champion(models_root)
    table = table.filter(pl.col("cpt_code") == TARGET_CPT)
    pend = pending(table)
    if pend.height == 0:
        raise ValueError("the modelling table has no pending 64520 lines to compare with the truth")
    logistic = fit_logistic_baseline(out_of_time_split(table).train, champion.features)
    frame = pend.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        pl.col("expected_payment_usd").cast(pl.Float64),
    ).with_columns(
        pl.Series("p_model", score(champion, pend)),
        pl.Series("p_logreg", logistic.predict(pend)),
        pl.Series("p_scrubber", rules_scrubber_score(pend)),
    )
    return frame, champion.version


def compare_with_truth(
    models_root: Path, table: pl.DataFrame, truth: pl.DataFrame
) -> tuple[pl.DataFrame, str]:
    """The wide comparison (one row per scorer) and the champion's version; recorded in its card."""
    frame, version = pending_scores(models_root, table)
    comparison = oracle_comparison(frame, truth)
    if comparison.get_column("lines").max() == 0:
        raise ValueError("no pending line of the warehouse appears in the truth file")
    record_oracle_evaluation(models_root, version, {r["scorer"]: r for r in comparison.to_dicts()})
    return comparison, version


def long_metrics(comparison: pl.DataFrame, model_version: str) -> pl.DataFrame:
    """One row per (scorer, metric), the shape `oracle_evaluation` keeps."""
    return (
        comparison.select("scorer", "lines", *REPORTED_METRICS)
        .unpivot(index=["scorer", "lines"], variable_name="metric", value_name="value")
        .select(
            pl.lit(datetime.now(UTC)).alias("evaluated_at"),
            pl.lit(model_version).alias("model_version"),
            "scorer",
            "metric",
            pl.col("value").cast(pl.Float64),
            pl.col("lines").cast(pl.Int64),
        )
    )


def store_oracle_rows(
    con: duckdb.DuckDBPyConnection, comparison: pl.DataFrame, version: str
) -> int:
    """Replace the champion's rows of `oracle_evaluation`; return how many were written."""
    rows = long_metrics(comparison, version)
    con.execute(ORACLE_DDL)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM oracle_evaluation WHERE model_version = ?", [version])
    con.register("oracle_rows", rows.to_arrow())
    con.execute("INSERT INTO oracle_evaluation SELECT * FROM oracle_rows")
    con.unregister("oracle_rows")
    con.execute("COMMIT")
    return rows.height


def evaluate_against_truth(settings: ProductSettings, truth_path: Path) -> pl.DataFrame:
    """Materialize `oracle_evaluation` (then the snapshot and report) with this truth; return it wide."""
    import dagster as dg

    from pipelines.runner import run_pipeline

    truth_path = Path(truth_path)
    read_truth(truth_path)  # a wrong path or file fails here, before Dagster starts
    with_truth = replace(settings, truth=truth_path)
    report = run_pipeline(
        with_truth,
        selection=dg.AssetSelection.assets(
            "oracle_evaluation", "published_snapshot", "static_report"
        ),
    )
    if report.failed_steps:
        step, message = report.failed_steps[0]
        raise ValueError(f"{step}: {message}")
    version = report.value("oracle_evaluation", "model_version")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT scorer, metric, value, lines FROM oracle_evaluation WHERE model_version = ?",
            [version],
        ).fetchall()
    long = pl.DataFrame(rows, schema=["scorer", "metric", "value", "lines"], orient="row")
    wide = long.pivot(on="metric", index=["scorer", "lines"], values="value")
    order = {"model": 0, "logistic_regression": 1, "rules_scrubber": 2, "oracle": 3}
    wide = wide.sort(pl.col("scorer").replace_strict(order, default=9))
    log.info("oracle evaluation of %s stored and the snapshot republished", version)
    return wide.select("scorer", "lines", *[m for m in REPORTED_METRICS if m in wide.columns])
