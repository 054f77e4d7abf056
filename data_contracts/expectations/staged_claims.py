"""Suites for `staged_claim_lines`: the batch contract (blocking) and per-payer volume (warn)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from data_contracts.codes import place_of_service_codes
from data_contracts.expectations import (
    TOTAL_SEGMENT,
    BatchSource,
    ContractSuite,
    row_count_change_sql,
    segment_volume_change_sql,
    thresholds_from_env,
)
from data_contracts.input_contract import PLAN_TYPES, TARGET_CPT
from data_contracts.row_rules import MAX_AMOUNT_USD, max_units

if TYPE_CHECKING:
    import great_expectations as gx

SUITE = "staged_claim_lines"
VOLUME_SUITE = "staged_claim_lines_payer_volume"
TABLE = "staged_claim_lines"
PATIENT_KEY_REGEX = r"^[0-9a-f]{64}$"


@dataclass(frozen=True)
class ClaimThresholds:
    """Bounds of a healthy claims batch (env `DENIAL_RISK_CONTRACT_<FIELD>` overrides)."""

    # A 64520 batch without 64520 lines means a wrong file or a broken CPT column.
    min_64520_lines: int = 1
    # The row rules' plausibility bounds (row_rules.py): a row beyond them is quarantined alone,
    # so these hold unless the staged table was written around the row rules.
    max_units: float = field(default_factory=max_units)
    max_charge_amount: float = MAX_AMOUNT_USD
    # Staged tables accumulate: fewer rows than at the last passing run means data was lost; a
    # jump beyond 10x is a duplicated or mis-routed load.
    min_row_count_ratio: float = 0.9
    max_row_count_ratio: float = 10.0
    # Per-payer volume against the last passing run; payers below `min_payer_lines` are noise.
    min_payer_volume_ratio: float = 0.5
    min_payer_lines: int = 20


def _rows_sql() -> str:
    return f"""
        SELECT claim_id, line_number, patient_key, patient_age, payer_id, plan_type,
               place_of_service, service_date, submission_date, cpt_code, units,
               CAST(charge_amount AS DOUBLE) AS charge_amount
        FROM {TABLE}
    """


def _summary_sql() -> str:
    current = f"""
        SELECT count(*) AS row_count,
               count(*) FILTER (WHERE cpt_code = '{TARGET_CPT}') AS lines_64520,
               count(*) - count(DISTINCT (claim_id, line_number)) AS duplicate_keys
        FROM {TABLE}
    """
    return f"""
        WITH s AS ({current}), change AS ({row_count_change_sql(SUITE, f"SELECT count(*) AS row_count FROM {TABLE}")})
        SELECT s.row_count, s.lines_64520, s.duplicate_keys, change.previous_row_count,
               change.row_count_ratio
        FROM s, change
    """


def build_suite(t: ClaimThresholds) -> gx.ExpectationSuite:
    """The staged-claims batch contract."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    rows = {"source": "rows"}
    summary = {"source": "summary"}
    return gx.ExpectationSuite(
        name=SUITE,
        expectations=[
            *(
                gxe.ExpectColumnValuesToNotBeNull(column=c, meta=rows)
                for c in (
                    "claim_id",
                    "line_number",
                    "patient_key",
                    "payer_id",
                    "service_date",
                    "submission_date",
                    "cpt_code",
                )
            ),
            gxe.ExpectColumnValuesToBeBetween(column="line_number", min_value=1, meta=rows),
            gxe.ExpectColumnValuesToMatchRegex(
                column="patient_key", regex=PATIENT_KEY_REGEX, meta=rows
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="plan_type", value_set=list(PLAN_TYPES), meta=rows
            ),
            gxe.ExpectColumnValuesToBeInSet(
                column="place_of_service", value_set=sorted(place_of_service_codes()), meta=rows
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="units", min_value=0, max_value=t.max_units, strict_min=True, meta=rows
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="charge_amount", min_value=0, max_value=t.max_charge_amount, meta=rows
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="patient_age", min_value=0, max_value=120, meta=rows
            ),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A="submission_date",
                column_B="service_date",
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=rows,
            ),
            gxe.ExpectColumnValuesToBeBetween(column="row_count", min_value=1, meta=summary),
            gxe.ExpectColumnValuesToBeBetween(
                column="lines_64520", min_value=t.min_64520_lines, meta=summary
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="duplicate_keys", min_value=0, max_value=0, meta=summary
            ),
            # Null at the first run (no baseline): a map expectation skips it, by design.
            gxe.ExpectColumnValuesToBeBetween(
                column="row_count_ratio",
                min_value=t.min_row_count_ratio,
                max_value=t.max_row_count_ratio,
                meta=summary,
            ),
        ],
    )


def build_volume_suite(t: ClaimThresholds) -> gx.ExpectationSuite:
    """Per-payer volume against the last passing run (a drift signal)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=VOLUME_SUITE,
        expectations=[
            gxe.ExpectColumnValuesToBeBetween(
                column="volume_ratio",
                min_value=t.min_payer_volume_ratio,
                meta={"source": "payer_volume"},
            ),
        ],
    )


def contract(thresholds: ClaimThresholds | None = None) -> ContractSuite:
    """The blocking staged-claims contract."""
    t = thresholds or thresholds_from_env(ClaimThresholds())
    return ContractSuite(
        name=SUITE,
        table=TABLE,
        severity="error",
        sources={
            "rows": BatchSource(_rows_sql(), "rows"),
            "summary": BatchSource(_summary_sql(), "summary"),
        },
        build_suite=partial(build_suite, t),
        history_sql=f"SELECT '{TOTAL_SEGMENT}' AS segment, count(*) AS row_count FROM {TABLE}",
        thresholds=t,
    )


def volume_contract(thresholds: ClaimThresholds | None = None) -> ContractSuite:
    """The per-payer volume drift suite: a payer losing most of its lines warns, never blocks.

    A payer can legitimately stop sending (contract ended), so a drop is a signal for a person,
    not a reason to stop scoring every other payer's lines.
    """
    t = thresholds or thresholds_from_env(ClaimThresholds())
    current = (
        f"SELECT coalesce(payer_id, '(none)') AS segment, count(*) AS row_count "
        f"FROM {TABLE} GROUP BY ALL"
    )
    return ContractSuite(
        name=VOLUME_SUITE,
        table=TABLE,
        severity="warn",
        sources={
            "payer_volume": BatchSource(
                segment_volume_change_sql(VOLUME_SUITE, current, t.min_payer_lines),
                "summary",
                key_columns=("segment",),
            )
        },
        build_suite=partial(build_volume_suite, t),
        history_sql=current,
        thresholds=t,
    )
