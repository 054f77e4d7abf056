"""Suite for `modelling_table`: keys, value sets, the label's denial rate, and feature null shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from data_contracts.codes import place_of_service_codes
from data_contracts.expectations import (
    TOTAL_SEGMENT,
    BatchSource,
    ContractSuite,
    quote,
    row_count_change_sql,
    thresholds_from_env,
)
from data_contracts.input_contract import PLAN_TYPES, TARGET_CPT
from data_contracts.warehouse_schema import MODELLING_TABLE_FIXED_COLUMNS

if TYPE_CHECKING:
    import great_expectations as gx

SUITE = "modelling_table"
TABLE = "modelling_table"

# Columns of the table that are not model features (docs/architecture.md, "Modelling table").
FIXED_COLUMNS: frozenset[str] = frozenset(MODELLING_TABLE_FIXED_COLUMNS)
STATUSES = ("denied", "paid", "patient_liability", "pending")
UNIT_INTERVAL_FEATURES = (
    "doc_completeness",
    "payer_code_denial_rate",
    "provider_denial_rate",
    "payer_auth_denial_rate",
    "payer_one_procedure_per_visit_rate",
)


@dataclass(frozen=True)
class ModellingThresholds:
    """Bounds of a healthy modelling table (env `DENIAL_RISK_CONTRACT_<FIELD>` overrides)."""

    # Denial rate of labelled 64520 lines: published initial denial rates sit near 5-20%
    # (rcm-kpis.md); outside 3-40% the label or the remit join is broken.
    denial_rate_min: float = 0.03
    denial_rate_max: float = 0.40
    min_labelled_lines: int = 1
    # Features that must be filled on almost every line (their inputs are required columns).
    key_features: tuple[str, ...] = (
        "units",
        "submission_lag_days",
        "plan_type",
        "payer_id",
        "place_of_service",
        "note_present",
        "prior_auth_present",
    )
    max_key_feature_null_share: float = 0.05
    # Any feature: some are null by design (no prior block, no note), but an all-null column
    # is a broken join.
    max_feature_null_share: float = 0.99
    min_row_count_ratio: float = 0.5
    max_row_count_ratio: float = 10.0


def feature_columns(columns: Mapping[str, str]) -> list[str]:
    """Feature columns of the table: every column that is not a fixed one."""
    return [c for c in columns if c not in FIXED_COLUMNS]


def _null_test(column: str, dtype: str) -> str:
    # polars writes float NaN as NaN, not NULL: a NaN feature is as empty as a null one.
    if dtype.upper() in {"DOUBLE", "FLOAT", "REAL"}:
        return f"({quote(column)} IS NULL OR isnan({quote(column)}))"
    return f"({quote(column)} IS NULL)"


def _null_share_sql(features: list[str], columns: Mapping[str, str]) -> str:
    """One row per feature: its null share; a feature missing from the table counts as all null."""
    if not features:
        return "SELECT NULL::VARCHAR AS feature, NULL::DOUBLE AS null_share WHERE false"
    parts = []
    for name in features:
        expr = (
            f"avg(CAST({_null_test(name, columns[name])} AS DOUBLE))" if name in columns else "1.0"
        )
        parts.append(
            f"SELECT '{name}' AS feature, coalesce({expr}, 0.0) AS null_share FROM {TABLE}"
        )
    return " UNION ALL ".join(parts)


def _rows_sql(columns: Mapping[str, str]) -> str:
    wanted = [
        "claim_id",
        "line_number",
        "cpt_code",
        "payer_id",
        "plan_type",
        "place_of_service",
        "service_date",
        "submission_date",
        "status",
        "denied",
        "charge_amount",
        "expected_payment_usd",
        "units",
        *UNIT_INTERVAL_FEATURES,
    ]
    # Fixed columns are selected even when absent so a missing one fails loudly in DuckDB.
    selected = [c for c in wanted if c in columns or c in FIXED_COLUMNS]
    return f"SELECT {', '.join(quote(c) for c in selected)} FROM {TABLE}"


def _summary_sql() -> str:
    return f"""
        WITH s AS (
            SELECT count(*) AS row_count,
                   count(*) - count(DISTINCT (claim_id, line_number)) AS duplicate_keys,
                   count(denied) AS labelled_lines,
                   avg(CAST(denied AS DOUBLE)) AS denial_rate
            FROM {TABLE}
        ),
        change AS ({row_count_change_sql(SUITE, f"SELECT count(*) AS row_count FROM {TABLE}")})
        SELECT s.row_count, s.duplicate_keys, s.labelled_lines, s.denial_rate,
               change.previous_row_count, change.row_count_ratio
        FROM s, change
    """


def build_suite(columns: Mapping[str, str], t: ModellingThresholds) -> gx.ExpectationSuite:
    """The modelling-table contract for a table with these columns."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    rows = {"source": "rows"}
    summary = {"source": "summary"}
    expectations = [
        *(
            gxe.ExpectColumnValuesToNotBeNull(column=c, meta=rows)
            for c in ("claim_id", "line_number", "payer_id", "status", "submission_date")
        ),
        gxe.ExpectColumnValuesToBeInSet(column="cpt_code", value_set=[TARGET_CPT], meta=rows),
        gxe.ExpectColumnValuesToBeInSet(column="plan_type", value_set=list(PLAN_TYPES), meta=rows),
        gxe.ExpectColumnValuesToBeInSet(
            column="place_of_service", value_set=sorted(place_of_service_codes()), meta=rows
        ),
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=list(STATUSES), meta=rows),
        gxe.ExpectColumnValuesToBeInSet(column="denied", value_set=[0, 1], meta=rows),
        gxe.ExpectColumnValuesToBeBetween(column="charge_amount", min_value=0, meta=rows),
        gxe.ExpectColumnValuesToBeBetween(column="expected_payment_usd", min_value=0, meta=rows),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="submission_date",
            column_B="service_date",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=rows,
        ),
    ]
    if "units" in columns:
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(
                column="units", min_value=0, strict_min=True, meta=rows
            )
        )
    expectations.extend(
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1, meta=rows)
        for c in UNIT_INTERVAL_FEATURES
        if c in columns
    )
    expectations.extend(
        [
            gxe.ExpectColumnValuesToBeBetween(column="row_count", min_value=1, meta=summary),
            gxe.ExpectColumnValuesToBeBetween(
                column="duplicate_keys", min_value=0, max_value=0, meta=summary
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="labelled_lines", min_value=t.min_labelled_lines, meta=summary
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="denial_rate",
                min_value=t.denial_rate_min,
                max_value=t.denial_rate_max,
                meta=summary,
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="row_count_ratio",
                min_value=t.min_row_count_ratio,
                max_value=t.max_row_count_ratio,
                meta=summary,
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="null_share",
                min_value=0,
                max_value=t.max_key_feature_null_share,
                meta={"source": "key_feature_nulls"},
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="null_share",
                min_value=0,
                max_value=t.max_feature_null_share,
                meta={"source": "feature_nulls"},
            ),
        ]
    )
    return gx.ExpectationSuite(name=SUITE, expectations=expectations)


def contract(
    columns: Mapping[str, str], thresholds: ModellingThresholds | None = None
) -> ContractSuite:
    """The blocking modelling-table contract; `columns` maps the table's columns to DuckDB types."""
    t = thresholds or thresholds_from_env(ModellingThresholds())
    return ContractSuite(
        name=SUITE,
        table=TABLE,
        severity="error",
        sources={
            "rows": BatchSource(_rows_sql(columns), "rows"),
            "summary": BatchSource(_summary_sql(), "summary"),
            "key_feature_nulls": BatchSource(
                _null_share_sql(list(t.key_features), columns), "summary", ("feature",)
            ),
            "feature_nulls": BatchSource(
                _null_share_sql(feature_columns(columns), columns), "summary", ("feature",)
            ),
        },
        build_suite=partial(build_suite, dict(columns), t),
        history_sql=f"SELECT '{TOTAL_SEGMENT}' AS segment, count(*) AS row_count FROM {TABLE}",
        thresholds=t,
    )
