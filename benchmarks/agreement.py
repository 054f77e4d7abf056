"""How closely the peer's features match ours, line by line (untimed; reported with the table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MATCH_TOLERANCE = 1e-6


def feature_agreement(ours_work: Path, peer_work: Path) -> dict[str, Any]:
    """Share of 64520 lines on which each shared feature has the same value (nulls equal)."""
    import duckdb
    import polars as pl

    with duckdb.connect(str(ours_work / "warehouse.duckdb"), read_only=True) as con:
        ours = con.sql("SELECT * FROM modelling_table").pl()
    peer = pl.read_parquet(peer_work / "modelling_table.parquet")
    from models.features.catalog import FEATURES

    names = [f.name for f in FEATURES if f.name in ours.columns and f.name in peer.columns]
    keys = ["claim_id", "line_number"]
    joined = ours.select(*keys, *names).join(
        peer.select(*keys, *names).with_columns(
            pl.col("line_number").cast(ours["line_number"].dtype)
        ),
        on=keys,
        how="inner",
        suffix="_peer",
    )
    shares: dict[str, float] = {}
    for name in names:
        a, b = pl.col(name), pl.col(f"{name}_peer")
        if ours.schema[name] == pl.String:
            same = a.cast(pl.String).eq_missing(b.cast(pl.String))
        else:
            fa, fb = a.cast(pl.Float64), b.cast(pl.Float64)
            same = ((fa - fb).abs() <= MATCH_TOLERANCE) | (fa.is_null() & fb.is_null())
        shares[name] = round(float(joined.select(same.fill_null(False).mean()).item()), 4)
    return {
        "lines_ours": ours.height,
        "lines_peer": peer.height,
        "lines_joined": joined.height,
        "features_compared": len(names),
        "features_only_ours": [f.name for f in FEATURES if f.name not in peer.columns],
        "share_equal": shares,
    }
