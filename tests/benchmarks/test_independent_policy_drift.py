"""Policy drift on a world written apart from the project's generator (benchmarks/independent_world).

The independent world plants its own policy shifts (policy.py: its own mechanics and CARCs); one
prior-authorization shift on its Medicare payer must reach the product's `policy_drift_alerts`
through the real asset graph by its second month of adjudications, under the right category.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from benchmarks.independent_world.generate import generate_independent_world
from benchmarks.independent_world.policy import (
    BUILTIN_SHIFTS,
    PolicyShift,
    parse_policy_shift,
    payer_rules_on,
)
from benchmarks.independent_world.world import PAYERS
from pipelines.defs.resources import build_resources
from pipelines.settings import ProductSettings

# MCR-J15 (a quarter of the practice, no authorization before) at ~25 64520 lines a month in a
# 15k-line world; the shift moves its true denial probability from ~15% to ~50% (policy.py).
SHIFT = "MCR-J15:2025-09:prior_auth"
LINES = 15_000
SEED = 4


def test_policy_shifts_parse_and_change_only_their_payer_from_their_month() -> None:
    shift = parse_policy_shift(SHIFT)
    assert shift == PolicyShift("MCR-J15", date(2025, 9, 1), "prior_auth")
    assert shift.label == SHIFT
    for bad in ("MCR-J15:2025-09:bilateral_rtlt", "MCR-J15:2025:prior_auth", "prior_auth"):
        with pytest.raises(ValueError):
            parse_policy_shift(bad)
    medicare = next(p for p in PAYERS if p.payer_id == "MCR-J15")
    assert payer_rules_on(medicare, date(2025, 8, 31), shift) == medicare
    assert payer_rules_on(medicare, date(2025, 9, 1), shift).auth == "always"
    capped = payer_rules_on(
        medicare, date(2025, 9, 1), parse_policy_shift("MCR-J15:2025-09:frequency_cap")
    )
    assert (capped.max_per_year, capped.min_interval_days) == (2, 21)
    with pytest.raises(ValueError, match="more than one"):
        generate_independent_world(
            Path("/nonexistent/l"), Path("/nonexistent/t"), 10, 1, [BUILTIN_SHIFTS[0]]
        )


def test_planted_prior_auth_shift_is_alerted_by_its_second_month(tmp_path: Path) -> None:
    from pipelines.defs.features.assets import modelling_table
    from pipelines.defs.ingest import assets as ingest
    from pipelines.defs.model.assets import denial_model
    from pipelines.defs.monitoring.assets import policy_drift_alerts

    landing, truth = tmp_path / "landing", tmp_path / "truth.csv"
    summary = generate_independent_world(landing, truth, LINES, SEED, [parse_policy_shift(SHIFT)])
    assert SHIFT in summary.policy_shifts
    with truth.open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["payer_id"] == "MCR-J15"]
    shifted = [r for r in rows if r["policy_change"] == SHIFT]
    assert 0 < len(shifted) < len(rows)
    # The shift's own CARC wording: its denials carry the cause the world maps to CO-15/CO-197.
    assert any(r["cause"] == "auth_now_required" for r in shifted)
    assert not any(r["cause"] == "auth_now_required" for r in rows if not r["policy_change"])

    settings = ProductSettings(
        landing=landing, warehouse=tmp_path / "wh" / "warehouse.duckdb", exports=tmp_path / "ex"
    )
    settings.warehouse.parent.mkdir(parents=True)
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
        ],
        resources=build_resources(settings),
    )
    assert result.success
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        alerts = con.sql(
            "SELECT payer_id, reason_category, change_month, alert_month, rate_after, "
            "expected_rate_after FROM policy_drift_alerts ORDER BY alert_month"
        ).fetchall()
    # No other payer alarms (the world's own Anthem RT/LT change of 2026-01 may).
    assert {a[0] for a in alerts} <= {"MCR-J15", "ANTH-PPO"}, alerts
    medicare = [a for a in alerts if a[0] == "MCR-J15"]
    assert len(medicare) == 1, alerts
    _, category, change_month, alert_month, rate_after, expected_after = medicare[0]
    assert category == "Invalid/Missing Authorization"
    assert date(2025, 9, 1) <= date.fromisoformat(f"{change_month}-01") <= date(2025, 10, 1)
    assert date.fromisoformat(f"{alert_month}-01") <= date(2025, 10, 1)
    assert rate_after - expected_after > 0.08
