"""Expected loss, risk bands and the hold threshold that maximises expected net dollars.

Holding a line before submission costs one rework (default $25 per claim, MGMA figure for
practices, cpt-64520.md §8.3 and §6 "Rework cost") and, when the line would have been denied,
recovers `recovery_rate` of its expected payment (default 0.60, cpt-64520.md §8.3 "recovery when
worked: 54–70% overturned → use 60%"). So on validation lines the net of holding every line with
expected loss ≥ t is Σ_held (denied × payment × recovery − rework); the threshold is the t that
maximises it. Both inputs are configurable through the environment (`DENIAL_RISK_REWORK_COST_USD`,
`DENIAL_RISK_RECOVERY_RATE`) or explicit parameters.

Bands: `high` = at or above the hold threshold (hold and fix before submission), `medium` = at or
above half of it (review if time allows), `low` otherwise.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

DEFAULT_REWORK_COST_USD = 25.0
DEFAULT_RECOVERY_RATE = 0.60


@dataclass(frozen=True)
class HoldEconomics:
    """Cost of reworking one held line and the share of a prevented denial's payment recovered."""

    rework_cost_usd: float = DEFAULT_REWORK_COST_USD
    recovery_rate: float = DEFAULT_RECOVERY_RATE

    @classmethod
    def from_env(cls) -> HoldEconomics:
        """Read DENIAL_RISK_REWORK_COST_USD / DENIAL_RISK_RECOVERY_RATE, defaults otherwise."""
        return cls(
            rework_cost_usd=float(
                os.environ.get("DENIAL_RISK_REWORK_COST_USD") or DEFAULT_REWORK_COST_USD
            ),
            recovery_rate=float(
                os.environ.get("DENIAL_RISK_RECOVERY_RATE") or DEFAULT_RECOVERY_RATE
            ),
        )


def expected_loss(probability: np.ndarray, expected_payment: np.ndarray) -> np.ndarray:
    """Expected dollars lost to denial: probability × expected payment."""
    return np.asarray(probability, dtype=np.float64) * np.nan_to_num(
        np.asarray(expected_payment, dtype=np.float64), nan=0.0
    )


def expected_loss_expr(probability: str = "denial_probability") -> pl.Expr:
    """Polars form of `expected_loss` over the modelling table's expected_payment_usd."""
    return (pl.col(probability) * pl.col("expected_payment_usd").fill_null(0.0)).alias(
        "expected_loss_usd"
    )


def choose_hold_threshold(
    expected_loss_usd: np.ndarray,
    denied: np.ndarray,
    expected_payment: np.ndarray,
    economics: HoldEconomics | None = None,
) -> dict[str, Any]:
    """Expected-loss threshold maximising realized net dollars of holding on validation lines."""
    econ = economics or HoldEconomics.from_env()
    el = np.asarray(expected_loss_usd, dtype=np.float64)
    order = np.argsort(-el, kind="stable")
    gain = (
        np.asarray(denied, dtype=np.float64)[order]
        * np.nan_to_num(np.asarray(expected_payment, dtype=np.float64)[order])
        * econ.recovery_rate
        - econ.rework_cost_usd
    )
    net = np.cumsum(gain)
    if len(net) == 0 or net.max() <= 0:
        # Holding nothing is best: put the threshold above every line seen.
        threshold = float(el.max() + 0.01) if len(el) else float("inf")
        best_net, held = 0.0, 0
    else:
        k = int(np.argmax(net))
        threshold, best_net, held = float(el[order][k]), float(net[k]), k + 1
    # The closed form for a calibrated score: hold when p × payment × recovery > rework.
    analytic = econ.rework_cost_usd / econ.recovery_rate if econ.recovery_rate > 0 else float("inf")
    return {
        **asdict(econ),
        "hold_threshold_usd": round(threshold, 2),
        "medium_threshold_usd": round(threshold / 2, 2),
        "validation_net_usd": round(best_net, 2),
        "validation_lines_held": held,
        "validation_held_share": held / len(el) if len(el) else 0.0,
        "analytic_threshold_usd": round(analytic, 2),
    }


def risk_band_expr(operating_point: dict[str, Any], loss: str = "expected_loss_usd") -> pl.Expr:
    """low / medium / high from the expected loss and the stored thresholds."""
    return (
        pl.when(pl.col(loss) >= operating_point["hold_threshold_usd"])
        .then(pl.lit("high"))
        .when(pl.col(loss) >= operating_point["medium_threshold_usd"])
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
        .alias("risk_band")
    )
