"""Point-in-time tables built from history only, reused across pre-submission requests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import polars as pl

# Point-in-time tables built from history only, kept across requests by the pre-submission
# check (`reuse_history_tables`); None (the daily run) builds every table afresh.
_HISTORY_TABLES: ContextVar[dict[str, pl.DataFrame] | None] = ContextVar(
    "history_tables", default=None
)


@contextmanager
def reuse_history_tables(store: dict[str, pl.DataFrame]) -> Iterator[None]:
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
