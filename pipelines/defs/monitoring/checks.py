"""Each new policy drift alert goes out once on the alert channel (the run-failure webhook)."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.
import os
import urllib.error
from datetime import UTC, datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.operations.sensors import ALERT_WEBHOOK_ENV, post_webhook
from pipelines.defs.resources import WAREHOUSE_POOL, ProductPaths


def alert_text(alert: dict) -> str:
    """One line an analyst can act on (no patient data: payer, category and rates only)."""
    return (
        f"denial-risk policy drift: payer {alert['payer_id']} {alert['cpt_code']} "
        f"'{alert['reason_category']}' denials {alert['rate_after']:.1%} since "
        f"{alert['change_month']} (expected {alert['expected_rate_after']:.1%}, before "
        f"{alert['rate_before']:.1%}; {alert['lines_after']} lines, data through "
        f"{alert['alert_month']})"
    )


@dg.asset_check(asset="policy_drift_alerts", blocking=False, pool=WAREHOUSE_POOL)
def policy_drift_alerts_notified(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource, paths: ProductPaths
) -> dg.AssetCheckResult:
    """Warns once per new policy drift alert and posts it to DENIAL_RISK_ALERT_WEBHOOK."""
    with warehouse.get_connection() as con:
        pending = con.sql(
            "SELECT * FROM policy_drift_alerts WHERE notified_at IS NULL "
            "ORDER BY statistic DESC, payer_id, reason_category"
        ).pl()
    if pending.is_empty():
        return dg.AssetCheckResult(passed=True, description="no new policy drift alerts")
    log_path = paths.settings().data_root / "logs" / "policy_drift_alerts.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    webhook = os.environ.get(ALERT_WEBHOOK_ENV)
    texts = []
    for alert in pending.iter_rows(named=True):
        text = alert_text(alert)
        texts.append(text)
        with log_path.open("a", encoding="utf-8") as log:
            log.write(text + "\n")
        if webhook:
            fields = {
                k: str(alert[k])
                for k in ("payer_id", "cpt_code", "reason_category", "change_month", "alert_month")
            }
            try:
                post_webhook(webhook, text, fields)
            except (urllib.error.URLError, OSError) as exc:
                # Kept in the log file; the alert still counts as raised so it is not repeated.
                context.log.warning(f"alert webhook unreachable: {type(exc).__name__}")
    notified_at = datetime.now(UTC).replace(microsecond=0)
    keys = pending.select("payer_id", "cpt_code", "reason_category", "change_month")
    with warehouse.get_connection() as con:
        con.register("notified", keys.to_arrow())
        con.execute(
            "UPDATE policy_drift_alerts AS a SET notified_at = ? FROM notified n "
            "WHERE a.payer_id = n.payer_id AND a.cpt_code = n.cpt_code "
            "AND a.reason_category = n.reason_category AND a.change_month = n.change_month",
            [notified_at],
        )
        con.unregister("notified")
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{pending.height} new policy drift alert(s): " + "; ".join(texts),
        metadata={
            "new_alerts": pending.height,
            "payers": ", ".join(pending["payer_id"].unique().sort().to_list()),
        },
    )
