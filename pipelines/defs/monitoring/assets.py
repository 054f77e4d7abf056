"""Monitoring assets: payer policy drift alerts from the adjudicated 64520 lines."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from data_contracts.warehouse_schema import POLICY_DRIFT_ALERTS, POLICY_DRIFT_MONTHLY
from models.policy_flags import ACTIVE_STATUSES
from models.registry import load_champion
from monitoring.case_mix import MONITORED_LINES_SQL, with_case_mix
from monitoring.policy_drift import evaluate_policy_drift
from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths

ALERT_INSERT_COLUMNS = (
    "payer_id, cpt_code, reason_category, change_month, alert_month, detected_at, rate_before, "
    "rate_after, expected_rate_after, lines_before, lines_after, denials_before, denials_after, "
    "statistic, p_value, pending_share, tested_on, status"
)


@dg.asset(
    group_name="monitoring",
    kinds={"duckdb", "polars"},
    deps=[
        dg.AssetKey("modelling_table"),
        dg.AssetKey("line_outcomes"),
        dg.AssetKey("denial_model"),
    ],
    pool=WAREHOUSE_POOL,
)
def policy_drift_alerts(
    context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.MaterializeResult:
    """Payers whose 64520 denials of a reason category rose beyond their case mix: one alert each."""
    champion = load_champion(paths.settings().models)
    with warehouse.get_connection() as con:
        con.execute(POLICY_DRIFT_ALERTS)
        con.execute(POLICY_DRIFT_MONTHLY)
        lines = con.sql(MONITORED_LINES_SQL).pl()
        existing = con.sql("SELECT * FROM policy_drift_alerts").pl()
    run = evaluate_policy_drift(
        with_case_mix(lines, champion), existing, datetime.now(UTC).replace(microsecond=0)
    )
    with warehouse.get_connection() as con:
        con.execute("BEGIN TRANSACTION")
        con.register("new_alerts", run.new_alerts.to_arrow())
        con.execute(
            f"INSERT INTO policy_drift_alerts ({ALERT_INSERT_COLUMNS}) "
            f"SELECT {ALERT_INSERT_COLUMNS} FROM new_alerts"
        )
        con.unregister("new_alerts")
        con.execute("DELETE FROM policy_drift_monthly")
        con.register("series", run.series.to_arrow())
        con.execute("INSERT INTO policy_drift_monthly BY NAME SELECT * FROM series")
        con.unregister("series")
        con.execute("COMMIT")
        stored = con.sql("SELECT payer_id, reason_category, status FROM policy_drift_alerts").pl()
    active = stored.filter(pl.col("status").is_in(ACTIVE_STATUSES))
    latest_pending = run.pending.filter(pl.col("month") == run.pending["month"].max())
    context.log.info(
        "policy drift: %d new alert(s), %d active", run.new_alerts.height, active.height
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": stored.height,
            "new_alerts": run.new_alerts.height,
            "active_alerts": active.height,
            "active_payers": ", ".join(sorted(set(active["payer_id"].to_list()))),
            "months_monitored": run.months_monitored,
            "latest_adjudication_month": run.latest_month or "",
            "case_mix_model": champion.version,
            "pending_share_latest_submission_month": float(
                latest_pending["submitted_lines"].sum()
                and (
                    (latest_pending["pending_share"] * latest_pending["submitted_lines"]).sum()
                    / latest_pending["submitted_lines"].sum()
                )
            ),
        }
    )
