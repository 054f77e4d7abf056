"""Digests of warehouse tables: a derived table is rebuilt only when its inputs changed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import duckdb

from data_contracts.warehouse_schema import BUILD_INPUT_DIGESTS, BUILD_INPUT_DIGESTS_DDL


def tables_digest(con: duckdb.DuckDBPyConnection, tables: Iterable[str], code: str = "") -> str:
    """sha256 over each table's row count and summed row hashes, and the building code's text.

    Summed (not xor-ed) hashes: independent of row order, and two equal rows do not cancel.
    """
    parts = [hashlib.sha256(code.encode()).hexdigest()]
    for table in tables:
        rows, total = con.execute(
            f'SELECT count(*), sum(hash(t)::HUGEINT) FROM "{table}" t'
        ).fetchall()[0]
        parts.append(f"{table}:{rows}:{total}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def stored_digest(con: duckdb.DuckDBPyConnection, target: str) -> str | None:
    """The digest recorded at `target`'s last build (None before any)."""
    con.execute(BUILD_INPUT_DIGESTS_DDL)
    rows = con.execute(
        f"SELECT digest FROM {BUILD_INPUT_DIGESTS} WHERE target = ?", [target]
    ).fetchall()
    return rows[0][0] if rows else None


def record_digest(con: duckdb.DuckDBPyConnection, target: str, digest: str) -> None:
    """Remember the inputs `target` was built from (inside the build's transaction)."""
    con.execute(BUILD_INPUT_DIGESTS_DDL)
    con.execute(f"INSERT OR REPLACE INTO {BUILD_INPUT_DIGESTS} VALUES (?, ?)", [target, digest])
