"""Policy-change flags on scores: the reason categories of a payer's active policy-drift alerts.

Detection lives in `monitoring/`; scoring (the daily run and the pre-submission check) reads the
alerts it wrote, so the flag has one home below both.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import polars as pl

ACTIVE_STATUSES: tuple[str, ...] = ("open", "acknowledged")


def flags_from_alerts(payer_ids: Iterable[str], alerts: pl.DataFrame) -> dict[str, str]:
    """payer_id → the reason categories of its open or acknowledged alerts (`;`-joined), others ''."""
    active = alerts.filter(pl.col("status").is_in(ACTIVE_STATUSES)).sort(
        "statistic", descending=True
    )
    by_payer: dict[str, list[str]] = {}
    for payer_id, category in active.select("payer_id", "reason_category").iter_rows():
        by_payer.setdefault(payer_id, [])
        if category not in by_payer[payer_id]:
            by_payer[payer_id].append(category)
    return {p: ";".join(by_payer.get(p, [])) for p in payer_ids}


def active_alerts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Open or acknowledged policy-drift alerts in the warehouse (none when never monitored)."""
    known = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    if "policy_drift_alerts" not in known:
        return pl.DataFrame(
            schema={
                "payer_id": pl.String,
                "reason_category": pl.String,
                "change_month": pl.String,
                "statistic": pl.Float64,
                "status": pl.String,
            }
        )
    statuses = ", ".join(f"'{s}'" for s in ACTIVE_STATUSES)
    return con.sql(
        "SELECT payer_id, reason_category, change_month, statistic, status "
        f"FROM policy_drift_alerts WHERE status IN ({statuses})"
    ).pl()


def flags_for(payer_ids: Iterable[str], con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """payer_id → reason categories of its active policy-drift alerts ('' when none), from the warehouse."""
    return flags_from_alerts(payer_ids, active_alerts(con))


def with_policy_change(scored: pl.DataFrame, flags: dict[str, str]) -> pl.DataFrame:
    """Scored lines with `policy_change`: the reason categories of the payer's active alerts, or ''."""
    return scored.with_columns(
        pl.col("payer_id")
        .replace_strict(flags, default="", return_dtype=pl.String)
        .alias("policy_change")
    )
