"""The Model page's policy drift panel: a pure figure from the two snapshot tables."""

from __future__ import annotations

import polars as pl

from dashboards.figures.model import policy_drift_figure

AUTH = "Invalid/Missing Authorization"


def test_panel_draws_observed_expected_and_the_change_month() -> None:
    alerts = pl.DataFrame(
        {
            "payer_id": ["P03"],
            "reason_category": [AUTH],
            "change_month": ["2025-06"],
            "statistic": [9.0],
        }
    )
    monthly = pl.DataFrame(
        {
            "payer_id": ["P03"] * 3,
            "reason_category": [AUTH] * 3,
            "change_month": ["2025-06"] * 3,
            "month": ["2025-05", "2025-06", "2025-07"],
            "lines": [50, 48, 52],
            "denials": [0, 12, 20],
            "rate": [0.0, 0.25, 0.3846],
            "expected_rate": [0.004, 0.005, 0.004],
            "pending_share": [0.0, 0.0, 0.1],
        }
    )
    fig = policy_drift_figure(alerts, monthly)
    observed, expected = fig.data
    assert list(observed.y) == [0.0, 0.25, 0.3846] and list(expected.y) == [0.004, 0.005, 0.004]
    assert observed.name == f"P03 · {AUTH} observed"
    assert [s["x0"] for s in fig.layout.shapes] == ["2025-06"]


def test_panel_without_alerts_says_so() -> None:
    fig = policy_drift_figure(pl.DataFrame(), None)
    assert not fig.data
    assert "No payer policy drift alert" in fig.layout.annotations[0].text
