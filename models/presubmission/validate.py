"""Request rows through ingestion's row rules and typed select, on an in-memory DuckDB connection.

The same SQL as the landing loader (`data_contracts/row_rules.py`, `data_contracts/staged_select.py`,
`data_contracts/privacy.py`), so a row rejected here would be quarantined with the same reason,
and a row accepted here is staged with the same values (patient ids hashed with the same key).
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import polars as pl

from data_contracts.input_contract import column_names
from data_contracts.payer_plan_types import (
    PAYER_PLAN_TYPES_TABLE,
    configured_payer_plan_types,
    plan_type_filled_sql,
    read_payer_plan_types,
)
from data_contracts.privacy import PADS_TABLE, hmac_pads, patient_key_sql
from data_contracts.row_rules import UNIQUE_KEYS, first_failure_sql, icd10_list_sql, normalized_sql
from data_contracts.row_rules import rules as row_rules
from data_contracts.staged_select import typed_select

# Reference tables the claims and notes row rules read (codes sets of modifiers, POS, ICD-10-CM)
# and the practice's payer plan-type table ingestion loaded (it fills an empty plan type).
RULE_REFERENCE_TABLES = (
    "ref_modifiers",
    "ref_pos",
    "ref_icd10cm",
    "ref_carc_rarc",
    PAYER_PLAN_TYPES_TABLE,
)
REQUEST_FILE = "request"
REJECTED_SCHEMA = {
    "claim_id": pl.String,
    "line_number": pl.String,
    "source_row": pl.Int64,
    "field": pl.String,
    "reason": pl.String,
    "value": pl.String,
}


@dataclass(frozen=True)
class CheckedRows:
    """Rows that passed, in staged form, and the rows that failed with their first reason."""

    staged: pl.DataFrame
    rejected: pl.DataFrame


def prepare_rule_database(
    con: duckdb.DuckDBPyConnection, reference: dict[str, pl.DataFrame], phi_key: bytes
) -> None:
    """Copy the rule reference tables and the HMAC pads into an in-memory database.

    The payer plan-type table is the warehouse's copy (what the last run read from
    `<landing>/reference/payer_plan_types.csv`), or the file `DENIAL_RISK_PAYER_PLAN_TYPES`
    names, read now with ingestion's reader.
    """
    configured = configured_payer_plan_types()
    if configured is not None or PAYER_PLAN_TYPES_TABLE not in reference:
        reference = {**reference, PAYER_PLAN_TYPES_TABLE: read_payer_plan_types(configured)[0]}
    for name, frame in reference.items():
        con.register("_ref_frame", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _ref_frame")
        con.unregister("_ref_frame")
    inner, outer = hmac_pads(phi_key)
    # A plain table (not TEMP) so every cursor of the in-memory database sees it.
    con.execute(f"CREATE OR REPLACE TABLE {PADS_TABLE} (ipad BLOB, opad BLOB)")
    con.execute(f"INSERT INTO {PADS_TABLE} VALUES (?, ?)", [inner, outer])


def as_text_rows(rows: pl.DataFrame, folder: str) -> pl.DataFrame:
    """The contract's columns as strings (absent = null) plus `source_row` (1-based by default)."""
    if "source_row" in rows.columns:
        source_row = rows.get_column("source_row").cast(pl.Int64)
    else:
        source_row = pl.Series("source_row", range(1, rows.height + 1), dtype=pl.Int64)
    columns = [source_row.alias("source_row")]
    for name in column_names(folder):
        if name in rows.columns:
            columns.append(rows.get_column(name).cast(pl.String).alias(name))
        else:
            columns.append(pl.Series(name, [None] * rows.height, dtype=pl.String))
    return pl.DataFrame(columns)


def default_submission_date(rows: pl.DataFrame, today: date) -> pl.DataFrame:
    """`submission_date` is optional in a request: empty means the day of scoring."""
    blank = pl.col("submission_date").str.strip_chars().fill_null("") == ""
    return rows.with_columns(
        pl.when(blank)
        .then(pl.lit(today.isoformat()))
        .otherwise(pl.col("submission_date"))
        .alias("submission_date")
    )


def _normalized(folder: str, name: str) -> str:
    text = normalized_sql(name, f"raw.{name}")
    if folder == "claims" and name == "plan_type":
        # An empty plan type is filled from the payer table, as ingestion does.
        return plan_type_filled_sql(text, normalized_sql("payer_id", "raw.payer_id"))
    return text


def _checked_sql(folder: str) -> str:
    selects = ["source_row"] + [
        f"{_normalized(folder, name)} AS {name}" for name in column_names(folder)
    ]
    return (
        f"SELECT r.*, {first_failure_sql(folder)} AS rule_index "
        f"FROM (SELECT {', '.join(selects)} FROM _request_rows raw) r ORDER BY source_row"
    )


# The ICD-10-CM rules test each code with `NOT IN (SELECT code FROM ref_icd10cm)`: DuckDB builds
# a hash table of all ~98k codes per rule and query (~14 ms of a one-claim check, measured). A
# request shadows the table with a connection-local one holding only the codes it names that
# are in the release: the rules' answers are the same (every code they test is a request code,
# normalised by the same expressions), their text unchanged.
ICD10_TABLE = "ref_icd10cm"


def _request_icd10_sql() -> str:
    diagnosis = normalized_sql("diagnosis_codes", "raw.diagnosis_codes")
    return (
        f"CREATE OR REPLACE TEMP TABLE {ICD10_TABLE} AS SELECT code FROM main.{ICD10_TABLE} "
        f"WHERE code IN (SELECT unnest({icd10_list_sql(diagnosis)}) FROM _request_rows raw)"
    )


def _typed_sql(folder: str) -> str:
    targets, exprs = typed_select(folder)
    extras = "CAST(NULL AS VARCHAR) AS _extra, " + f"'{REQUEST_FILE}' AS source_file"
    dx = f", {icd10_list_sql('diagnosis_codes')} AS _dx" if folder == "claims" else ""
    passing = f"SELECT *, {extras}{dx} FROM _passing_rows"
    keys = (
        f"(SELECT patient_id, {patient_key_sql('patient_id')} AS patient_key "
        "FROM (SELECT DISTINCT patient_id FROM _passing_rows)) pk"
    )
    select = ", ".join(f"{expr} AS {name}" for name, expr in zip(targets, exprs, strict=True))
    return f"SELECT {select} FROM ({passing}) r JOIN {keys} USING (patient_id) ORDER BY source_row"


def _duplicate_rows(
    checked: pl.DataFrame, folder: str, taken: Container[tuple[Any, ...]]
) -> pl.Series:
    """Passing rows whose key is already loaded, or seen earlier in the request (first wins)."""
    keys = list(UNIQUE_KEYS[folder])
    frame = checked.select(
        *(
            pl.col(k).cast(pl.Int64, strict=False) if k == "line_number" else pl.col(k)
            for k in keys
        ),
        pl.col("rule_index").is_null().alias("_passing"),
    )
    earlier = frame.select(
        pl.col("_passing") & (pl.int_range(pl.len()).over([*keys, "_passing"]) > 0)
    ).to_series()
    passing = frame.get_column("_passing").to_list()
    loaded = [
        ok and key in taken for ok, key in zip(passing, frame.select(keys).iter_rows(), strict=True)
    ]
    return earlier | pl.Series(loaded, dtype=pl.Boolean)


def check_rows(
    con: duckdb.DuckDBPyConnection,
    rows: pl.DataFrame,
    folder: str,
    taken: Container[tuple[Any, ...]] = frozenset(),
) -> CheckedRows:
    """Row rules, duplicate keys (against `taken`: loaded key tuples) and typing of request rows.

    `rows` come from `as_text_rows`; `con` is a cursor of a database made by
    `prepare_rule_database`.
    """
    con.register("_request_rows", rows.to_arrow())
    shadow = folder == "claims"
    try:
        if shadow:
            con.execute(_request_icd10_sql()).fetchall()
        checked = con.sql(_checked_sql(folder)).pl()
    finally:
        if shadow:
            con.execute(f"DROP TABLE IF EXISTS temp.{ICD10_TABLE}").fetchall()
        con.unregister("_request_rows")
    if checked.height:
        checked = checked.with_columns(
            pl.when(_duplicate_rows(checked, folder, taken))
            .then(0)
            .otherwise(pl.col("rule_index"))
            .alias("rule_index")
        )
    rejected = _rejected(checked, rows, folder)
    passing = checked.filter(pl.col("rule_index").is_null()).drop("rule_index")
    con.register("_passing_rows", passing.to_arrow())
    try:
        staged = con.sql(_typed_sql(folder)).pl()
    finally:
        con.unregister("_passing_rows")
    return CheckedRows(staged=staged, rejected=rejected)


def _rejected(checked: pl.DataFrame, rows: pl.DataFrame, folder: str) -> pl.DataFrame:
    """claim_id, line_number, source_row, field, reason and the value as given of failed rows."""
    failed = checked.filter(pl.col("rule_index").is_not_null())
    if not failed.height:
        return pl.DataFrame(schema=REJECTED_SCHEMA)
    keys = UNIQUE_KEYS[folder]
    reasons = [("duplicate_key", "/".join(keys))] + [
        (rule.reason, rule.column) for rule in row_rules(folder)
    ]
    given = {r["source_row"]: r for r in rows.to_dicts()}
    out = []
    for row in failed.select("source_row", "rule_index").to_dicts():
        reason, field = reasons[row["rule_index"]]
        raw = given.get(row["source_row"], {})
        if reason == "duplicate_key":
            value = "/".join(str(raw.get(k) or "") for k in keys)
        else:
            value = raw.get(field) if field else None
        out.append(
            {
                "claim_id": raw.get("claim_id"),
                "line_number": raw.get("line_number"),
                "source_row": row["source_row"],
                "field": field,
                "reason": reason,
                # Patient ids and birth dates are withheld, as in the quarantine's raw record.
                "value": "[withheld]" if field in ("patient_id", "patient_birth_date") else value,
            }
        )
    return pl.DataFrame(out, schema=REJECTED_SCHEMA)
