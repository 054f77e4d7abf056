"""History tables kept by key for the pre-submission check: same answers as the whole table."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from polars.testing import assert_frame_equal

from models.features.diagnosis import SET_LOOKUP_MAX_ROWS, billable_icd10_codes, is_billable_icd10
from models.features.history import (
    ASOF_KEY,
    add_patient_prior_denials,
    add_point_in_time_rate,
)
from models.features.history_tables import KeyedTable, reuse_history_tables

D = date(2025, 6, 2)


def _events() -> pl.LazyFrame:
    """Adjudicated lines of three payers and four patients (one payer id null), days apart."""
    rows = []
    for i in range(40):
        rows.append(
            {
                "patient_key": f"P{i % 4}",
                "payer_id": [None, "A", "B"][i % 3],
                "known_at": D - timedelta(days=200 - 5 * i),
                "denied": i % 5 == 0,
            }
        )
    return pl.LazyFrame(rows)


def _targets(patients: list[str], payers: list[str | None]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "claim_id": [f"T{i}" for i in range(len(patients))],
            "patient_key": patients,
            "payer_id": payers,
            "submission_date": [D - timedelta(days=30 * i) for i in range(len(patients))],
        }
    )


def test_keyed_table_gives_each_keys_rows_in_time_order() -> None:
    table = pl.DataFrame(
        {
            "payer_id": ["B", "A", None, "B", "A", None],
            ASOF_KEY: [date(2025, 1, d) for d in (1, 2, 3, 4, 5, 6)],
            "_n": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    keyed = KeyedTable.build(table, ["payer_id"])
    keys = pl.DataFrame({"payer_id": ["B", None, "B", "Z"]})
    rows = keyed.rows_for(keys, ASOF_KEY)
    assert rows.get_column("_n").to_list() == [1.0, 3.0, 4.0, 6.0]
    assert rows.get_column(ASOF_KEY).is_sorted()
    empty = keyed.rows_for(pl.DataFrame({"payer_id": ["Z"]}), ASOF_KEY)
    assert empty.height == 0
    assert empty.schema == table.schema


def test_reused_keyed_tables_answer_as_the_whole_table() -> None:
    events = _events()
    targets = [
        _targets(["P1", "P3"], ["A", None]),
        _targets(["P0", "P2", "P9"], ["B", "A", "Z"]),
    ]

    def features(target: pl.LazyFrame) -> pl.DataFrame:
        rated = add_point_in_time_rate(
            target,
            events,
            by="payer_id",
            event_flag=pl.col("denied"),
            name="rate",
            window_days=90,
        )
        return add_patient_prior_denials(rated, events).collect().sort("claim_id")

    fresh = [features(t) for t in targets]
    store: dict = {}
    with reuse_history_tables(store):
        reused = [features(t) for t in targets]
    assert any(key.endswith("#by") for key in store)
    for a, b in zip(fresh, reused, strict=True):
        assert_frame_equal(a, b)
    # The known answer of one line: P1 (payer A) sees P1's denials known before its date.
    first = reused[0].row(0, named=True)
    known = events.collect().filter(
        (pl.col("patient_key") == "P1") & (pl.col("known_at") < first["submission_date"])
    )
    assert first["patient_prior_denials"] == known.get_column("denied").sum()


def test_billable_lookup_is_the_same_on_small_and_large_frames() -> None:
    billable = billable_icd10_codes()
    leaf = next(c for c in billable if len(c) > 4)
    header = leaf[:3]  # a category with subcodes: a header, never billable
    codes = [leaf, header, "ZZZ999", None, billable[-1]]
    small = pl.DataFrame({"dx": codes}).select(is_billable_icd10(pl.col("dx")))
    assert small.get_column("dx").to_list() == [True, False, False, None, True]
    repeats = SET_LOOKUP_MAX_ROWS // len(codes) + 1
    large = pl.DataFrame({"dx": codes * repeats}).select(is_billable_icd10(pl.col("dx")))
    assert large.height > SET_LOOKUP_MAX_ROWS
    assert large.get_column("dx").to_list() == small.get_column("dx").to_list() * repeats
