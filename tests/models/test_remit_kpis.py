"""Remit-only KPIs on hand-made remit lines: months, 64520 counts, Pareto order, matching."""

from __future__ import annotations

from datetime import date

import polars as pl

from models.kpis import REMIT_KPI_COLUMNS, carc_pareto, remit_denial_kpis, remit_match_share


def _remits() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "cpt_code": ["64520", "64520", "99213", "64520"],
            "adjudication_date": [
                date(2025, 1, 3),
                date(2025, 1, 30),
                date(2025, 1, 9),
                date(2025, 2, 1),
            ],
            "charge_amount": [800.0, 750.0, 120.0, 800.0],
            "denied": [True, False, True, True],
            "denial_group_code": ["CO", None, "CO", "OA"],
            "primary_denial_carc": ["16", None, "97", "18"],
            "denial_category": ["Missing information", None, "Bundling", "Duplicate"],
            "matched_claim_line": [True, True, False, True],
        }
    )


def test_remit_denial_kpis_by_adjudication_month() -> None:
    kpis = remit_denial_kpis(_remits())
    assert kpis.columns == list(REMIT_KPI_COLUMNS)
    assert kpis.rows() == [
        (date(2025, 1, 1), 3, 2, 2 / 3, 2, 1, 0.5, 920.0, 1),
        (date(2025, 2, 1), 1, 1, 1.0, 1, 1, 1.0, 800.0, 0),
    ]


def test_carc_pareto_and_match_share() -> None:
    remits = _remits().with_columns(
        pl.when(pl.col("cpt_code") == "99213")
        .then(pl.lit("16"))
        .otherwise(pl.col("primary_denial_carc"))
        .alias("primary_denial_carc")
    )
    pareto = carc_pareto(remits)
    assert pareto.select("reason", "denied_lines", "share", "cumulative_share").rows() == [
        ("CO-16", 2, 2 / 3, 2 / 3),
        ("OA-18", 1, 1 / 3, 1.0),
    ]
    assert remit_match_share(remits) == (3, 4)
