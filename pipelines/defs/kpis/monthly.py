"""Monthly 64520 denial KPIs by payer, written idempotently one service month at a time."""

from __future__ import annotations

from datetime import date

import duckdb

from data_contracts.input_contract import TARGET_CPT
from data_contracts.warehouse_schema import CLAIM_ACKNOWLEDGEMENTS
from models.kpis_front_end import front_end_rejected_sql, front_end_rejection_columns_sql

KPI_TABLE = "monthly_denial_kpis"
ALL_PAYERS = "ALL"

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

# House definition (rcm-kpis.md: the HFMA Task Force recommends line level, by volume and by
# dollars): denied ÷ adjudicated 64520 lines of the service-month cohort, pending lines left out
# of the denominator because their outcome is unknown; payer_id 'ALL' is the month's total.
# Lines rejected at the front end (277CA) were never adjudicated: `denied` is NULL, so they are
# out of the denial rate too, and counted by the front-end rejection rate beside it.
_INSERT = f"""
INSERT INTO {KPI_TABLE}
WITH month_lines AS (
    SELECT c.payer_id, c.charge_amount, o.status, o.denied,
           {front_end_rejected_sql("c")} AS front_end_rejected
    FROM staged_claim_lines AS c
    LEFT JOIN line_outcomes AS o USING (claim_id, line_number)
    WHERE c.cpt_code = '{TARGET_CPT}'
      AND c.service_date >= $month_start AND c.service_date < $month_end
)
SELECT
    $month_start::DATE AS service_month,
    CASE WHEN GROUPING(payer_id) = 1 THEN '{ALL_PAYERS}' ELSE payer_id END AS payer_id,
    count(*) AS lines,
    count(denied) AS adjudicated_lines,
    count(*) FILTER (WHERE coalesce(status, 'pending') = 'pending') AS pending_lines,
    count(*) FILTER (WHERE denied) AS denied_lines,
    (count(*) FILTER (WHERE denied)) / nullif(count(denied), 0) AS denial_rate_count,
    coalesce(sum(charge_amount) FILTER (WHERE denied IS NOT NULL), 0) AS adjudicated_charge,
    coalesce(sum(charge_amount) FILTER (WHERE denied), 0) AS denied_charge,
    coalesce(sum(charge_amount) FILTER (WHERE denied), 0)::DOUBLE
        / nullif(sum(charge_amount) FILTER (WHERE denied IS NOT NULL), 0)::DOUBLE
        AS denial_rate_dollars,
    now()::TIMESTAMP AS computed_at,
    {front_end_rejection_columns_sql("front_end_rejected")}
FROM month_lines
GROUP BY GROUPING SETS ((payer_id), ())
-- A month with no lines still gets no 'ALL' row: count(*) of an empty grouping set is one row,
-- so drop it explicitly to keep "no data" distinguishable from "zero denials".
HAVING count(*) > 0
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
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"DELETE FROM {KPI_TABLE} WHERE service_month = $1", [start])
        conn.execute(_INSERT, {"month_start": start, "month_end": end})
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
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

# Remit-only KPIs (issue 21): the denial rate and CARC Pareto of `remit_line_outcomes`, which
# holds every remit line whether or not its claim line loaded, by ADJUDICATION month (a remit
# without its claim has no trustworthy service date). Each line's latest remit counts; a line is
# denied by the label's rule over its own adjustments (data_contracts/label.py). Kept in this one
# function so the KPI definitions can move to models/ together.
_REMIT_KPI_SELECT = f"""
SELECT date_trunc('month', adjudication_date)::DATE AS adjudication_month,
       count(*) AS remit_lines,
       count(*) FILTER (WHERE denied) AS denied_lines,
       count(*) FILTER (WHERE denied) / count(*) AS denial_rate,
       count(*) FILTER (WHERE cpt_code = '{TARGET_CPT}') AS lines_64520,
       count(*) FILTER (WHERE denied AND cpt_code = '{TARGET_CPT}') AS denied_lines_64520,
       (count(*) FILTER (WHERE denied AND cpt_code = '{TARGET_CPT}'))
           / nullif(count(*) FILTER (WHERE cpt_code = '{TARGET_CPT}'), 0) AS denial_rate_64520,
       coalesce(sum(charge_amount) FILTER (WHERE denied), 0) AS denied_charge,
       count(*) FILTER (WHERE NOT matched_claim_line) AS lines_without_claim_line,
       now()::TIMESTAMP AS computed_at
FROM remit_line_outcomes WHERE latest
GROUP BY 1
"""


def write_remit_denial_kpis(conn: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """Rebuild the remit-only KPI table and return its totals and CARC Pareto (top 5)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(_CREATE_REMIT)
        conn.execute(f"INSERT INTO {REMIT_KPI_TABLE} {_REMIT_KPI_SELECT}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    lines, denied, lines_64520, denied_64520, without, months = conn.execute(
        f"SELECT coalesce(sum(remit_lines), 0), coalesce(sum(denied_lines), 0), "
        f"coalesce(sum(lines_64520), 0), coalesce(sum(denied_lines_64520), 0), "
        f"coalesce(sum(lines_without_claim_line), 0), count(*) FROM {REMIT_KPI_TABLE}"
    ).fetchall()[0]
    pareto = conn.execute(
        "SELECT denial_group_code || '-' || primary_denial_carc AS carc, count(*) AS n "
        "FROM remit_line_outcomes WHERE latest AND denied GROUP BY 1 ORDER BY n DESC, carc LIMIT 5"
    ).fetchall()
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
