"""End to end through Dagster: a planted prior-auth change → one alert, raised once, flag exported."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings
from pipelines.sources.synthetic import generate_world
from pipelines.sources.synthetic.world import parse_policy_change

AUTH = "Invalid/Missing Authorization"
# MCR-J15 (17% of lines, no authorization before) at ~45 64520 lines a month in a 25k world.
CHANGE = "MCR-J15:2025-09:prior_auth"


class _Collector(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Collector.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    _Collector.received = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("DENIAL_RISK_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    yield _Collector.received
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def test_planted_change_alerts_once_and_flags_the_export(tmp_path: Path, webhook: list[dict]):
    from pipelines.defs.features.assets import modelling_table
    from pipelines.defs.ingest import assets as ingest
    from pipelines.defs.model.assets import denial_model, risk_score_export, risk_scores
    from pipelines.defs.monitoring.assets import policy_drift_alerts
    from pipelines.defs.monitoring.checks import policy_drift_alerts_notified

    landing = tmp_path / "landing"
    generate_world(landing, lines=25_000, seed=3, policy_changes=[parse_policy_change(CHANGE)])
    settings = ProductSettings(
        landing=landing, warehouse=tmp_path / "wh" / "warehouse.duckdb", exports=tmp_path / "ex"
    )
    settings.warehouse.parent.mkdir(parents=True)
    resources = build_resources(settings)
    result = dg.materialize(
        [
            ingest.reference_tables,
            ingest.staged_claim_lines,
            ingest.staged_remits,
            ingest.staged_notes,
            ingest.line_outcomes,
            modelling_table,
            denial_model,
            policy_drift_alerts,
            policy_drift_alerts_notified,
            risk_scores,
            risk_score_export,
        ],
        resources=resources,
    )
    assert result.success
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        alerts = con.sql("SELECT * FROM policy_drift_alerts").pl()
        series = con.sql("SELECT * FROM policy_drift_monthly").pl()
    planted = alerts.filter(pl.col("payer_id") == "MCR-J15")
    assert planted["reason_category"].to_list() == [AUTH]
    alert = planted.row(0, named=True)
    # Detected by the change's second month of adjudication data, dated to the change.
    assert alert["change_month"] == "2025-09"
    assert alert["alert_month"] <= "2025-10"
    assert alert["rate_after"] - alert["expected_rate_after"] >= 0.10
    assert alert["status"] == "open" and alert["notified_at"] is not None
    # The only other alerts a world may raise are its built-in changes (docs/synthetic-data.md).
    assert set(alerts["payer_id"]) <= {"MCR-J15", "HUMANA-MA", "CIGNA-COMM"}
    assert series.filter(pl.col("payer_id") == "MCR-J15")["month"].min() < "2025-09"

    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == "policy_drift_alerts_notified" and not check.passed
    assert len(webhook) == alerts.height
    assert any("MCR-J15" in posted["text"] and AUTH in posted["text"] for posted in webhook)

    export_path = next(
        e.step_materialization_data.materialization.metadata["export_path"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "risk_score_export"
    )
    exported = pl.read_csv(export_path, infer_schema=False).with_columns(
        pl.col("policy_change").fill_null("")
    )
    flagged = exported.filter(pl.col("payer_id") == "MCR-J15")
    assert flagged.height > 0 and set(flagged["policy_change"]) == {AUTH}
    alerted = set(alerts["payer_id"])
    assert set(exported.filter(~pl.col("payer_id").is_in(alerted))["policy_change"]) == {""}

    # An analyst acknowledges; the next run raises nothing again and keeps the status.
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            "UPDATE policy_drift_alerts SET status = 'acknowledged' WHERE payer_id = 'MCR-J15'"
        )
    again = dg.materialize([policy_drift_alerts, policy_drift_alerts_notified], resources=resources)
    assert again.success
    assert again.get_asset_check_evaluations()[0].passed
    assert len(webhook) == alerts.height
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        after = con.sql("SELECT payer_id, status FROM policy_drift_alerts ORDER BY ALL").pl()
    assert after.height == alerts.height
    assert after.filter(pl.col("payer_id") == "MCR-J15")["status"].to_list() == ["acknowledged"]
