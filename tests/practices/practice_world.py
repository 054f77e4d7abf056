"""Small synthetic practices with a planted sentinel claim, and where a string turns up."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.practices import add_practice
from pipelines.settings import ProductSettings
from pipelines.sources.synthetic import generate_world

SENTINEL_CLAIM = "SENTINEL-NORTH-0001"
PRACTICE_LINES = 3_000


def build_practice(
    root: Path, name: str, seed: int, lines: int = PRACTICE_LINES
) -> ProductSettings:
    """A practice folder with a synthetic landing world of `lines` claim lines."""
    settings = add_practice(root, name)
    generate_world(settings.landing, lines=lines, seed=seed, fmt="csv")
    return settings


def plant_sentinel(landing: Path) -> Path:
    """Copy one 64520 claim line under a unique claim id into its own, pending, claims file."""
    source = sorted((landing / "claims").glob("*.csv"))[0]
    claims = pl.read_csv(source, infer_schema=False)
    row = claims.filter(pl.col("cpt_code") == "64520").head(1)
    row = row.with_columns(
        pl.lit(SENTINEL_CLAIM).alias("claim_id"), pl.lit("1").alias("line_number")
    )
    target = landing / "claims" / "sentinel.csv"
    row.write_csv(target)
    return target


def tables_mentioning(database: Path, needle: str) -> list[str]:
    """Tables of a DuckDB file with a row whose text holds `needle` (any column)."""
    found = []
    with duckdb.connect(str(database), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        ]
        for table in tables:
            hits = con.execute(
                f'SELECT count(*) FROM "{table}" AS r WHERE CAST(r AS VARCHAR) LIKE ?',
                [f"%{needle}%"],
            ).fetchone()[0]
            if hits:
                found.append(table)
    return found


def files_mentioning(folder: Path, needle: str) -> list[Path]:
    """Text files (CSV, JSON, HTML, logs) under `folder` whose bytes hold `needle`."""
    if not folder.exists():
        return []
    return [
        path
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and path.suffix in {".csv", ".json", ".html", ".log", ".txt"}
        and needle.encode() in path.read_bytes()
    ]
