"""Point-in-time tables built from history only, reused across pre-submission requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import polars as pl

# Point-in-time tables built from history only, kept across requests by the pre-submission
# check (`reuse_history_tables`); None (the daily run) builds every table afresh.
_HISTORY_TABLES: ContextVar[dict[str, Any] | None] = ContextVar("history_tables", default=None)


@contextmanager
def reuse_history_tables(store: dict[str, Any]) -> Iterator[None]:
    """Within the block, each keyed history table is built once and kept in `store`.

    Only for callers whose events (labelled and adjudicated lines) are the same on every call:
    the pre-submission check's history, where request lines are never labelled.
    """
    token = _HISTORY_TABLES.set(store)
    try:
        yield
    finally:
        _HISTORY_TABLES.reset(token)


def history_table(key: str, build: Callable[[], pl.LazyFrame]) -> pl.LazyFrame:
    """`build()`, or the table kept under `key` while `reuse_history_tables` is active."""
    store = _HISTORY_TABLES.get()
    if store is None:
        return build()
    if key not in store:
        store[key] = build().collect()
    return store[key].lazy()


@dataclass(frozen=True)
class KeyedTable:
    """A history table sorted by its key columns, with each key's span of rows."""

    frame: pl.DataFrame
    by: tuple[str, ...]
    spans: dict[tuple[Any, ...], tuple[int, int]]

    @classmethod
    def build(cls, table: pl.DataFrame, by: Sequence[str]) -> KeyedTable:
        """Group the rows by key, each key's rows in table order (a stable sort)."""
        by = tuple(by)
        frame = table.sort(list(by), maintain_order=True, nulls_last=True)
        counts = frame.group_by(list(by), maintain_order=True).len()
        lengths = counts.get_column("len")
        offsets = (lengths.cum_sum() - lengths).to_list()
        spans = zip(offsets, lengths.to_list(), strict=True)
        return cls(frame, by, dict(zip(counts.select(by).iter_rows(), spans, strict=True)))

    def rows_for(self, keys: pl.DataFrame, time_column: str) -> pl.DataFrame:
        """The rows of these keys (a frame of the key columns), sorted by `time_column`."""
        parts = [
            self.frame.slice(*self.spans[key])
            for key in keys.select(self.by).unique().iter_rows()
            if key in self.spans
        ]
        if not parts:
            return self.frame.head(0)
        return pl.concat(parts).sort(time_column, maintain_order=True)


def keyed_history_table(
    key: str,
    build: Callable[[], pl.LazyFrame],
    by: Sequence[str],
    target: pl.LazyFrame,
    time_column: str,
) -> pl.LazyFrame:
    """`build()`, or only the target's keys' rows of the table kept while reusing tables.

    For a per-key table joined by `by` (`join_asof(..., by=by)`): rows of other keys cannot
    match, so a request joins only its keys' rows instead of the whole table (at 1M lines the
    patient-level table has ~0.5M rows).
    """
    store = _HISTORY_TABLES.get()
    if store is None:
        return build()
    stored = f"{key}#by"
    if stored not in store:
        store[stored] = KeyedTable.build(build().collect(), by)
    table = store[stored]
    return table.rows_for(target.select(*by).collect(), time_column).lazy()
