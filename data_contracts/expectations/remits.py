"""Suite for `staged_remits` and `staged_remit_adjustments`: values, dates, and matching lines."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from data_contracts.codes import carc_codes
from data_contracts.expectations import (
    TOTAL_SEGMENT,
    BatchSource,
    ContractSuite,
    row_count_change_sql,
    thresholds_from_env,
)
from data_contracts.input_contract import GROUP_CODES
from data_contracts.row_rules import MAX_AMOUNT_USD
from data_contracts.warehouse_schema import HELD_TABLE

if TYPE_CHECKING:
    import great_expectations as gx

SUITE = "staged_remits"
TABLE = "staged_remits"
ADJUSTMENTS_TABLE = "staged_remit_adjustments"
CLAIMS_TABLE = "staged_claim_lines"


@dataclass(frozen=True)
class RemitThresholds:
    """Bounds of a healthy remit batch (env `DENIAL_RISK_CONTRACT_<FIELD>` overrides)."""

    # Remits may arrive before their claim file (kept in `unmatched_remits` and matched again on
    # every run), so a few unmatched are normal; 5% means the claim keys do not line up.
    max_unmatched_remit_share: float = 0.05
    max_unmatched_adjustment_share: float = 0.05
    # One remit dated before its line's submission is a keying slip (labelled, counted); many
    # mean swapped date columns.
    max_adjudicated_before_submission_share: float = 0.05
    max_amount: float = MAX_AMOUNT_USD
    min_row_count_ratio: float = 0.9
    max_row_count_ratio: float = 10.0


def _remit_rows_sql() -> str:
    # The line's submission date comes along so adjudication >= submission is a per-row rule.
    return f"""
        SELECT r.claim_id, r.line_number, r.adjudication_date,
               CAST(r.allowed_amount AS DOUBLE) AS allowed_amount,
               CAST(r.paid_amount AS DOUBLE) AS paid_amount,
               c.submission_date AS line_submission_date
        FROM {TABLE} r
        LEFT JOIN (
            SELECT claim_id, line_number, min(submission_date) AS submission_date
            FROM {CLAIMS_TABLE} GROUP BY ALL
        ) c USING (claim_id, line_number)
    """


def _adjustment_rows_sql() -> str:
    return f"""
        SELECT claim_id, line_number, group_code, carc, CAST(amount AS DOUBLE) AS amount
        FROM {ADJUSTMENTS_TABLE}
    """


def _summary_sql() -> str:
    # Rows matching leaves without a claim line wait in the held tables (quarantined, retried
    # every run): the share of them is the batch fact, one of them never blocks.
    lines = (
        f"SELECT claim_id, line_number, min(submission_date) AS submission_date "
        f"FROM {CLAIMS_TABLE} GROUP BY ALL"
    )
    return f"""
        WITH lines AS ({lines}),
        remit AS (
            SELECT count(*) AS remit_count,
                   count(*) FILTER (WHERE l.claim_id IS NULL) AS unmatched_remits,
                   count(*) FILTER (WHERE r.adjudication_date < l.submission_date)
                       AS adjudicated_before_submission
            FROM (SELECT * FROM {TABLE} UNION ALL SELECT * FROM {HELD_TABLE[TABLE]}) r
            LEFT JOIN lines l USING (claim_id, line_number)
        ),
        duplicate AS (
            SELECT count(*) - count(DISTINCT (claim_id, line_number, adjudication_date,
                                               allowed_amount, paid_amount)) AS duplicate_remits
            FROM {TABLE}
        ),
        adjustment AS (
            SELECT count(*) AS adjustment_count,
                   count(*) FILTER (WHERE l.claim_id IS NULL) AS unmatched_adjustments
            FROM (SELECT * FROM {ADJUSTMENTS_TABLE}
                  UNION ALL SELECT * FROM {HELD_TABLE[ADJUSTMENTS_TABLE]}) a
            LEFT JOIN lines l USING (claim_id, line_number)
        ),
        change AS ({row_count_change_sql(SUITE, f"SELECT count(*) AS row_count FROM {TABLE}")})
        SELECT remit.remit_count, duplicate.duplicate_remits,
               remit.unmatched_remits / nullif(remit.remit_count, 0) AS unmatched_remit_share,
               remit.adjudicated_before_submission / nullif(remit.remit_count, 0)
                   AS adjudicated_before_submission_share,
               adjustment.adjustment_count,
               adjustment.unmatched_adjustments / nullif(adjustment.adjustment_count, 0)
                   AS unmatched_adjustment_share,
               change.previous_row_count, change.row_count_ratio
        FROM remit, duplicate, adjustment, change
    """


def build_suite(t: RemitThresholds) -> gx.ExpectationSuite:
    """The remits-and-adjustments batch contract."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    remits = {"source": "remits"}
    adjustments = {"source": "adjustments"}
    summary = {"source": "summary"}
    return gx.ExpectationSuite(
        name=SUITE,
        expectations=[
            *(
                gxe.ExpectColumnValuesToNotBeNull(column=c, meta=remits)
                for c in ("claim_id", "line_number", "adjudication_date", "paid_amount")
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="allowed_amount", min_value=0, max_value=t.max_amount, meta=remits
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="paid_amount", min_value=0, max_value=t.max_amount, meta=remits
            ),
            *(
                gxe.ExpectColumnValuesToNotBeNull(column=c, meta=adjustments)
                for c in ("claim_id", "line_number", "group_code", "carc")
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="group_code", value_set=list(GROUP_CODES), meta=adjustments
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="carc", value_set=sorted(carc_codes()), meta=adjustments
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="duplicate_remits", min_value=0, max_value=0, meta=summary
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="adjudicated_before_submission_share",
                min_value=0,
                max_value=t.max_adjudicated_before_submission_share,
                meta=summary,
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="unmatched_remit_share",
                min_value=0,
                max_value=t.max_unmatched_remit_share,
                meta=summary,
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="unmatched_adjustment_share",
                min_value=0,
                max_value=t.max_unmatched_adjustment_share,
                meta=summary,
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="row_count_ratio",
                min_value=t.min_row_count_ratio,
                max_value=t.max_row_count_ratio,
                meta=summary,
            ),
        ],
    )


def contract(thresholds: RemitThresholds | None = None) -> ContractSuite:
    """The blocking remits contract (checked after claim lines are staged)."""
    t = thresholds or thresholds_from_env(RemitThresholds())
    return ContractSuite(
        name=SUITE,
        table=TABLE,
        severity="error",
        sources={
            "remits": BatchSource(_remit_rows_sql(), "rows"),
            "adjustments": BatchSource(_adjustment_rows_sql(), "rows"),
            "summary": BatchSource(_summary_sql(), "summary"),
        },
        build_suite=partial(build_suite, t),
        history_sql=f"SELECT '{TOTAL_SEGMENT}' AS segment, count(*) AS row_count FROM {TABLE}",
        thresholds=t,
    )
