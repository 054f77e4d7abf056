"""Policy drift detection on synthetic monthly lines built here (fast; no world, no model)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest

from models.policy_flags import flags_from_alerts, with_policy_change
from monitoring.policy_drift import (
    benjamini_hochberg,
    conditional_poisson_p,
    detect,
    monthly_counts,
    new_alerts,
    with_month_text,
)

AUTH = "Invalid/Missing Authorization"
# Baseline denial rates per product category (a 64520 payer's usual mix).
BASE_RATES = {
    AUTH: 0.01,
    "Medical Necessity": 0.06,
    "Eligibility": 0.04,
    "Billing Error: Invalid Code": 0.03,
    "Additional Information Requested": 0.03,
    None: 0.02,  # CARCs outside the map: Uncategorised
}
PAYERS = [f"P{i:02d}" for i in range(1, 13)]
MONTHS = [date(2025 + (m // 12), m % 12 + 1, 1) for m in range(24)]  # 2025-01 .. 2026-12


def simulate_lines(
    seed: int,
    lines_per_month: int = 60,
    shifts: dict[tuple[str, date], dict[str | None, float]] | None = None,
    risk: dict[tuple[str, date], float] | None = None,
) -> pl.DataFrame:
    """Adjudicated lines: each line's risk multiplies every category's rate (case mix)."""
    rng = np.random.default_rng(seed)
    shifts, risk = shifts or {}, risk or {}
    categories = list(BASE_RATES)
    rates = np.array([BASE_RATES[c] for c in categories])
    rows: dict[str, list] = {
        k: [] for k in ("payer_id", "adjudication_date", "denied", "denial_category", "case_mix")
    }
    for payer in PAYERS:
        active: dict[str | None, float] = {}
        for month in MONTHS:
            active = shifts.get((payer, month), active)
            mean_risk = 0.2 * risk.get((payer, month), 1.0)
            # Line risks vary around the month's mean; rates scale with each line's risk.
            line_risk = rng.gamma(4.0, mean_risk / 4.0, size=lines_per_month)
            extra = np.array([active.get(c, 0.0) for c in categories])
            p = rates[None, :] * (line_risk[:, None] / 0.2) + extra[None, :]
            fired = rng.random(p.shape) < p
            denied = fired.any(axis=1)
            first = fired.argmax(axis=1)
            rows["payer_id"] += [payer] * lines_per_month
            rows["adjudication_date"] += [month.replace(day=15)] * lines_per_month
            rows["denied"] += denied.tolist()
            rows["denial_category"] += [
                categories[i] if d else None for i, d in zip(first, denied, strict=True)
            ]
            rows["case_mix"] += line_risk.tolist()
    return pl.DataFrame(
        rows,
        schema={
            "payer_id": pl.String,
            "adjudication_date": pl.Date,
            "denied": pl.Boolean,
            "denial_category": pl.String,
            "case_mix": pl.Float64,
        },
    )


def test_conditional_poisson_p_and_bh() -> None:
    assert conditional_poisson_p(0, 10, 1.0, 1.0) == 1.0
    # 10 of 12 events in a window with a third of the exposure: far from chance.
    assert conditional_poisson_p(10, 2, 1.0, 2.0) < 0.001
    assert conditional_poisson_p(4, 8, 1.0, 2.0) > 0.3
    q = benjamini_hochberg(np.array([0.001, 0.04, 0.03, 0.9]))
    assert q.tolist() == pytest.approx([0.004, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.9])


def test_planted_prior_auth_change_is_detected_by_its_second_month() -> None:
    change = date(2026, 1, 1)
    # 45 lines a month, authorization denials from 1% to ~21% (the issue's >= 10 points at >= 40).
    lines = simulate_lines(seed=3, shifts={("P03", change): {AUTH: 0.2}}, lines_per_month=45)
    alerts = detect(monthly_counts(lines))
    assert alerts["payer_id"].to_list() == ["P03"]
    alert = alerts.row(0, named=True)
    assert alert["reason_category"] == AUTH
    assert alert["change_month"] == change
    assert alert["alert_month"] <= date(2026, 2, 1)
    assert alert["rate_after"] - alert["expected_rate_after"] > 0.08


@pytest.mark.parametrize("seed", [2, 4, 5])
def test_a_world_without_changes_raises_none(seed: int) -> None:
    assert detect(monthly_counts(simulate_lines(seed))).is_empty()


def test_a_month_of_riskier_case_mix_alone_raises_none() -> None:
    # One month of P05's lines three times as risky as usual: every category's rate triples.
    riskier = {("P05", date(2026, 3, 1)): 3.0}
    lines = simulate_lines(seed=5, lines_per_month=120, risk=riskier)
    assert detect(monthly_counts(lines)).is_empty()
    # The same lines without the case-mix exposure (every line counts the same) do alarm:
    # the adjustment is what keeps the riskier month quiet.
    flat = lines.with_columns(pl.lit(0.2).alias("case_mix"))
    naive = detect(monthly_counts(flat))
    assert "P05" in naive["payer_id"].to_list()


def stored(found: pl.DataFrame, detected_at: datetime) -> pl.DataFrame:
    added = new_alerts(
        found.head(0).with_columns(
            pl.lit(None, pl.Datetime("us", "UTC")).alias("detected_at"),
            pl.lit("", pl.String).alias("status"),
        ),
        found,
        detected_at,
    )
    return added


def test_alerts_are_not_raised_twice_and_keep_their_status() -> None:
    lines = simulate_lines(
        seed=1, shifts={("P03", date(2026, 1, 1)): {AUTH: 0.12}}, lines_per_month=45
    )
    found = with_month_text(detect(monthly_counts(lines)))
    first = stored(found, datetime(2026, 3, 1, tzinfo=UTC))
    assert first.height == 1 and first["status"].to_list() == ["open"]
    # The next run finds the same change (and later months would too): nothing new.
    assert new_alerts(first, found, datetime(2026, 4, 1, tzinfo=UTC)).is_empty()
    acknowledged = first.with_columns(pl.lit("acknowledged").alias("status"))
    assert new_alerts(acknowledged, found, datetime(2026, 4, 1, tzinfo=UTC)).is_empty()
    # Resolved: the same change stays resolved; a later change of the same payer alerts again.
    resolved = first.with_columns(pl.lit("resolved").alias("status"))
    assert new_alerts(resolved, found, datetime(2026, 4, 1, tzinfo=UTC)).is_empty()
    later = found.with_columns(
        pl.lit("2026-09").alias("change_month"), pl.lit("2026-10").alias("alert_month")
    )
    again = new_alerts(resolved, later, datetime(2026, 11, 1, tzinfo=UTC))
    assert again["change_month"].to_list() == ["2026-09"]


def test_flags_mark_only_payers_with_active_alerts() -> None:
    alerts = pl.DataFrame(
        {
            "payer_id": ["P03", "P03", "P05"],
            "reason_category": [AUTH, "Billing Error: Invalid Code", AUTH],
            "statistic": [9.0, 5.0, 7.0],
            "status": ["open", "acknowledged", "resolved"],
        }
    )
    flags = flags_from_alerts(["P03", "P05", "P07"], alerts)
    assert flags == {"P03": f"{AUTH};Billing Error: Invalid Code", "P05": "", "P07": ""}
    scored = pl.DataFrame({"payer_id": ["P05", "P03"], "denial_probability": [0.1, 0.2]})
    assert with_policy_change(scored, flags)["policy_change"].to_list() == [
        "",
        f"{AUTH};Billing Error: Invalid Code",
    ]


def test_post_change_lines_of_an_alerted_payer_weigh_more() -> None:
    from monitoring.weights import POST_CHANGE_WEIGHT, WEIGHT_COLUMN, policy_change_weights

    table = pl.DataFrame(
        {
            "payer_id": ["P03", "P03", "P05", "P03"],
            "submission_date": [
                date(2025, 12, 20),
                date(2026, 1, 5),
                date(2026, 2, 1),
                date(2026, 3, 1),
            ],
        }
    )
    alerts = pl.DataFrame(
        {
            "payer_id": ["P03", "P05"],
            "change_month": ["2026-01", "2025-06"],
            "status": ["open", "resolved"],
        }
    )
    weights = policy_change_weights(table, alerts)[WEIGHT_COLUMN].to_list()
    assert weights == [1.0, POST_CHANGE_WEIGHT, 1.0, POST_CHANGE_WEIGHT]
