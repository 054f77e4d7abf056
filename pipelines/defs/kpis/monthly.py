"""Monthly 64520 denial KPIs by payer, written idempotently one service month at a time.

The figures come from `models/kpis.py`, the definition the dashboards and the report use too;
this module only reads the month's lines and replaces the month's rows.
"""

from __future__ import annotations

from datetime import date

import duckdb

from models.kpis import ALL_PAYERS, KPI_TABLE_COLUMNS, kpi_lines_sql, service_month_kpis

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
    computed_at TIMESTAMP NOT NULL
)
"""

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
        "payers": int(row[6]),
    }
