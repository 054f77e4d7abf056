"""Monthly 64520 denial KPIs by payer, written idempotently one service month at a time.

The figures come from `models/kpis.py`, the definition the dashboards and the report use too;
this module only reads the month's lines and replaces the month's rows.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

from data_contracts.warehouse_schema import CLAIM_ACKNOWLEDGEMENTS
from models.kpis import (
    ALL_PAYERS,
    KPI_TABLE_COLUMNS,
    REMIT_LINES_SQL,
    carc_pareto,
    kpi_lines_sql,
    remit_denial_kpis,
    service_month_kpis,
)

KPI_TABLE = "monthly_denial_kpis"

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {KPI_TABLE} (
    service_month DATE NOT NULL,
    payer_id VARCHAR NOT NULL,
    lines BIGINT NOT NULL,
    adjudicated_lines BIGINT NOT NULL,
    pending_lines BIGINT NOT NULL,
    denied_lines BIGINT NOT NULL,
    denial_rate_count DOUBLE,
    adjudicated_charge DECIMAL(14,2) NOT NULL,
    denied_charge DECIMAL(14,2) NOT NULL,
    denial_rate_dollars DOUBLE,
    computed_at TIMESTAMP NOT NULL,
    front_end_rejected_lines BIGINT,
    front_end_rejection_rate DOUBLE
)
"""
# KPI tables written before the front-end rejection rate existed get its columns.
_ADD_FRONT_END = [
    f"ALTER TABLE {KPI_TABLE} ADD COLUMN IF NOT EXISTS front_end_rejected_lines BIGINT",
    f"ALTER TABLE {KPI_TABLE} ADD COLUMN IF NOT EXISTS front_end_rejection_rate DOUBLE",
]

_INSERT = f"""
INSERT INTO {KPI_TABLE} ({", ".join(KPI_TABLE_COLUMNS)}, computed_at)
SELECT {", ".join(KPI_TABLE_COLUMNS)}, now()::TIMESTAMP FROM month_kpis_frame
"""


def month_bounds(month_start: date) -> tuple[date, date]:
    """First day of the month and first day of the next month."""
    start = month_start.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


def write_monthly_kpis(
    conn: duckdb.DuckDBPyConnection, month_start: date
) -> dict[str, float | int]:
    """Replace one service month's KPI rows in one transaction and return the month's totals."""
    start, end = month_bounds(month_start)
    conn.execute(_CREATE)
    for ddl in (*_ADD_FRONT_END, CLAIM_ACKNOWLEDGEMENTS):
        conn.execute(ddl)
    lines = conn.sql(kpi_lines_sql(), params={"month_start": start, "month_end": end}).pl()
    conn.register("month_kpis_frame", service_month_kpis(lines, start).to_arrow())
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"DELETE FROM {KPI_TABLE} WHERE service_month = $1", [start])
        conn.execute(_INSERT)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.unregister("month_kpis_frame")
    row = conn.execute(
        f"""
        SELECT
            (SELECT count(*) FROM {KPI_TABLE} WHERE service_month = $1) AS row_count,
            coalesce(max(lines), 0), coalesce(max(adjudicated_lines), 0),
            coalesce(max(denied_lines), 0), max(denial_rate_count), max(denial_rate_dollars),
            max(front_end_rejection_rate),
            (SELECT count(*) FROM {KPI_TABLE} WHERE service_month = $1 AND payer_id <> '{ALL_PAYERS}')
        FROM {KPI_TABLE} WHERE service_month = $1 AND payer_id = '{ALL_PAYERS}'
        """,
        [start],
    ).fetchall()[0]
    return {
        "row_count": int(row[0]),
        "lines": int(row[1]),
        "adjudicated_lines": int(row[2]),
        "denied_lines": int(row[3]),
        "denial_rate_count": float(row[4]) if row[4] is not None else float("nan"),
        "denial_rate_dollars": float(row[5]) if row[5] is not None else float("nan"),
        "front_end_rejection_rate": float(row[6]) if row[6] is not None else float("nan"),
        "payers": int(row[7]),
    }


REMIT_KPI_TABLE = "remit_denial_kpis"

_CREATE_REMIT = f"""
CREATE OR REPLACE TABLE {REMIT_KPI_TABLE} (
    adjudication_month DATE NOT NULL,
    remit_lines BIGINT NOT NULL,
    denied_lines BIGINT NOT NULL,
    denial_rate DOUBLE,
    lines_64520 BIGINT NOT NULL,
    denied_lines_64520 BIGINT NOT NULL,
    denial_rate_64520 DOUBLE,
    denied_charge DECIMAL(14,2) NOT NULL,
    lines_without_claim_line BIGINT NOT NULL,
    computed_at TIMESTAMP NOT NULL
)
"""


def write_remit_denial_kpis(conn: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Rebuild the remit-only KPI table (`models.kpis.remit_denial_kpis`, the definition the
    Remittances page uses) and return its totals and CARC Pareto (top 5)."""
    remits = conn.sql(REMIT_LINES_SQL).pl()
    table = remit_denial_kpis(remits).with_columns(computed_at=pl.lit(datetime.now()))
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(_CREATE_REMIT)
        conn.register("_remit_kpis", table.to_arrow())
        conn.execute(f"INSERT INTO {REMIT_KPI_TABLE} SELECT * FROM _remit_kpis")
        conn.unregister("_remit_kpis")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    lines, denied = int(table["remit_lines"].sum()), int(table["denied_lines"].sum())
    lines_64520 = int(table["lines_64520"].sum())
    denied_64520 = int(table["denied_lines_64520"].sum())
    without = int(table["lines_without_claim_line"].sum())
    months = table.height
    pareto = carc_pareto(remits).head(5).select("reason", "denied_lines").rows()
    return {
        "months": int(months),
        "remit_lines": int(lines),
        "denied_lines": int(denied),
        "denial_rate": denied / lines if lines else float("nan"),
        "lines_64520": int(lines_64520),
        "denied_lines_64520": int(denied_64520),
        "denial_rate_64520": denied_64520 / lines_64520 if lines_64520 else float("nan"),
        "lines_without_claim_line": int(without),
        "carc_pareto": [(str(c), int(n)) for c, n in pareto],
    }
