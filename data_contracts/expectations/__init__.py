"""Great-expectations suites for the warehouse tables, one module per suite, built in code.

Each module exposes `contract(...) -> ContractSuite`: the GX suite (built lazily, GX takes ~6 s to
import), the SQL sources it is validated against, and how the run is remembered in
`batch_history`. Every expectation carries `meta={"source": <name>}` naming its source:

- a *row* source is a query streamed from DuckDB in bounded batches; only per-row (map)
  expectations belong there, because their counts add up across batches;
- a *summary* source is a small frame aggregated in DuckDB over the whole table (duplicates,
  referential-integrity shares, denial rate, null shares, row-count change); whole-table rules are
  written as expectations on its columns, so they are never judged on a partial batch.

Thresholds are dataclasses with documented defaults; each field can be overridden with the
environment variable `DENIAL_RISK_CONTRACT_<FIELD>` (upper case), e.g.
`DENIAL_RISK_CONTRACT_DENIAL_RATE_MAX=0.5`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    import great_expectations as gx

Severity = Literal["error", "warn"]

ENV_PREFIX = "DENIAL_RISK_CONTRACT_"
HISTORY_TABLE = "batch_history"
TOTAL_SEGMENT = "__total__"


@dataclass(frozen=True)
class BatchSource:
    """A query a suite is validated against: streamed in batches (rows) or whole (summary)."""

    sql: str
    kind: Literal["rows", "summary"]
    # Columns that name a summary row (payer, feature) in failure reports.
    key_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContractSuite:
    """A GX suite, its sources, and the counts remembered for the next run's comparison."""

    name: str
    table: str
    severity: Severity
    sources: dict[str, BatchSource]
    build_suite: Callable[[], gx.ExpectationSuite]
    # `SELECT segment, row_count ...` recorded in batch_history after each validation.
    history_sql: str | None = None
    thresholds: Any = None


T = TypeVar("T")


def thresholds_from_env(defaults: T) -> T:
    """The defaults with any `DENIAL_RISK_CONTRACT_<FIELD>` environment overrides applied."""
    overrides: dict[str, Any] = {}
    for f in fields(defaults):  # type: ignore[arg-type]
        raw = os.environ.get(ENV_PREFIX + f.name.upper())
        if raw is None or raw == "":
            continue
        current = getattr(defaults, f.name)
        if isinstance(current, tuple):
            overrides[f.name] = tuple(part.strip() for part in raw.split(",") if part.strip())
        elif isinstance(current, int) and not isinstance(current, bool):
            overrides[f.name] = int(raw)
        else:
            overrides[f.name] = float(raw)
    return replace(defaults, **overrides)  # type: ignore[type-var]


def sql_list(values: object) -> str:
    """A SQL list literal of strings, for IN clauses."""
    return "(" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) + ")"  # type: ignore[attr-defined]


def quote(identifier: str) -> str:
    """A DuckDB identifier in double quotes."""
    return '"' + identifier.replace('"', '""') + '"'


def row_count_change_sql(suite: str, current_count_sql: str) -> str:
    """One row: row_count now, at the last passing run of `suite`, and their ratio (null at first run)."""
    return f"""
        WITH current_count AS ({current_count_sql}),
        baseline_run AS (
            SELECT run_id FROM {HISTORY_TABLE}
            WHERE suite = '{suite}' AND success
            ORDER BY recorded_at DESC LIMIT 1
        ),
        previous AS (
            SELECT h.row_count FROM {HISTORY_TABLE} h JOIN baseline_run b USING (run_id)
            WHERE h.suite = '{suite}' AND h.segment = '{TOTAL_SEGMENT}'
        )
        SELECT c.row_count,
               p.row_count AS previous_row_count,
               c.row_count / nullif(p.row_count, 0) AS row_count_ratio
        FROM current_count c LEFT JOIN previous p ON true
    """


def segment_volume_change_sql(suite: str, current_segments_sql: str, min_previous: int) -> str:
    """Rows per segment (e.g. payer) with a previous count >= `min_previous`: now, before, ratio."""
    return f"""
        WITH current_segments AS ({current_segments_sql}),
        baseline_run AS (
            SELECT run_id FROM {HISTORY_TABLE}
            WHERE suite = '{suite}' AND success
            ORDER BY recorded_at DESC LIMIT 1
        ),
        previous AS (
            SELECT h.segment, h.row_count FROM {HISTORY_TABLE} h JOIN baseline_run b USING (run_id)
            WHERE h.suite = '{suite}' AND h.segment <> '{TOTAL_SEGMENT}'
        )
        SELECT p.segment,
               coalesce(c.row_count, 0) AS row_count,
               p.row_count AS previous_row_count,
               coalesce(c.row_count, 0) / p.row_count AS volume_ratio
        FROM previous p LEFT JOIN current_segments c USING (segment)
        WHERE p.row_count >= {int(min_previous)}
        ORDER BY p.segment
    """
