"""Suites for `risk_scores`: the scores contract (blocking) and score calibration drift (warn)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from data_contracts.expectations import BatchSource, ContractSuite, thresholds_from_env

if TYPE_CHECKING:
    import great_expectations as gx

SUITE = "risk_scores"
DRIFT_SUITE = "risk_scores_calibration"
TABLE = "risk_scores"
MODELLING_TABLE = "modelling_table"
RISK_BANDS = ("low", "medium", "high")


@dataclass(frozen=True)
class ScoreThresholds:
    """Bounds of a healthy scoring run (env `DENIAL_RISK_CONTRACT_<FIELD>` overrides)."""

    # Mean predicted probability of the pending batch against the denial rate of lines
    # submitted in the last `recent_days` before the newest labelled one: a calibrated model on a
    # stable mix lands within a few points; 10 points apart means drift or a broken feature.
    max_mean_score_gap: float = 0.10
    recent_days: int = 90
    # Pending 64520 lines of the modelling table without a score.
    max_unscored_share: float = 0.0


def _rows_sql(columns: Mapping[str, str]) -> str:
    wanted = ["claim_id", "line_number", "denial_probability", "risk_band", "expected_loss_usd"]
    selected = [c for c in wanted if c in columns or c in wanted[:3]]
    return f"SELECT {', '.join(selected)} FROM {TABLE}"


def _summary_sql() -> str:
    return f"""
        WITH pending AS (
            SELECT claim_id, line_number FROM {MODELLING_TABLE} WHERE status = 'pending'
        )
        SELECT (SELECT count(*) FROM {TABLE}) AS row_count,
               (SELECT count(*) - count(DISTINCT (claim_id, line_number)) FROM {TABLE})
                   AS duplicate_keys,
               (SELECT count(*) FROM pending p ANTI JOIN {TABLE} s USING (claim_id, line_number))
                   / nullif((SELECT count(*) FROM pending), 0) AS unscored_share
    """


def _calibration_sql(t: ScoreThresholds) -> str:
    return f"""
        WITH labelled AS (
            SELECT submission_date, denied FROM {MODELLING_TABLE} WHERE denied IS NOT NULL
        ),
        recent AS (
            SELECT avg(CAST(denied AS DOUBLE)) AS recent_denial_rate, count(*) AS recent_lines
            FROM labelled
            WHERE submission_date > (SELECT max(submission_date) FROM labelled)
                                    - INTERVAL {int(t.recent_days)} DAY
        ),
        scored AS (SELECT avg(denial_probability) AS mean_score FROM {TABLE})
        SELECT scored.mean_score, recent.recent_denial_rate, recent.recent_lines,
               abs(scored.mean_score - recent.recent_denial_rate) AS mean_score_gap
        FROM scored, recent
    """


def build_suite(columns: Mapping[str, str], t: ScoreThresholds) -> gx.ExpectationSuite:
    """The scores contract: probabilities in 0-1, one score per line, every pending line scored."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    rows = {"source": "rows"}
    summary = {"source": "summary"}
    expectations = [
        gxe.ExpectColumnValuesToNotBeNull(column="claim_id", meta=rows),
        gxe.ExpectColumnValuesToNotBeNull(column="denial_probability", meta=rows),
        gxe.ExpectColumnValuesToBeBetween(
            column="denial_probability", min_value=0, max_value=1, meta=rows
        ),
    ]
    if "risk_band" in columns:
        expectations.append(
            gxe.ExpectColumnValuesToBeInSet(
                column="risk_band", value_set=list(RISK_BANDS), meta=rows
            )
        )
    if "expected_loss_usd" in columns:
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(column="expected_loss_usd", min_value=0, meta=rows)
        )
    expectations.extend(
        [
            gxe.ExpectColumnValuesToBeBetween(
                column="duplicate_keys", min_value=0, max_value=0, meta=summary
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="unscored_share", min_value=0, max_value=t.max_unscored_share, meta=summary
            ),
        ]
    )
    return gx.ExpectationSuite(name=SUITE, expectations=expectations)


def build_drift_suite(t: ScoreThresholds) -> gx.ExpectationSuite:
    """Mean score against the recent denial rate (a drift signal)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=DRIFT_SUITE,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(
                column="mean_score_gap", meta={"source": "calibration"}
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="mean_score_gap",
                min_value=0,
                max_value=t.max_mean_score_gap,
                meta={"source": "calibration"},
            ),
        ],
    )


def contract(
    columns: Mapping[str, str], thresholds: ScoreThresholds | None = None
) -> ContractSuite:
    """The blocking scores contract; `columns` maps risk_scores' columns to DuckDB types."""
    t = thresholds or thresholds_from_env(ScoreThresholds())
    return ContractSuite(
        name=SUITE,
        table=TABLE,
        severity="error",
        sources={
            "rows": BatchSource(_rows_sql(columns), "rows"),
            "summary": BatchSource(_summary_sql(), "summary"),
        },
        build_suite=partial(build_suite, dict(columns), t),
        thresholds=t,
    )


def drift_contract(thresholds: ScoreThresholds | None = None) -> ContractSuite:
    """The calibration drift suite: warns, since a shifted pending mix can move the mean."""
    t = thresholds or thresholds_from_env(ScoreThresholds())
    return ContractSuite(
        name=DRIFT_SUITE,
        table=TABLE,
        severity="warn",
        sources={"calibration": BatchSource(_calibration_sql(t), "summary")},
        build_suite=partial(build_drift_suite, t),
        thresholds=t,
    )
