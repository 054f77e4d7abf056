"""Hypothesis against every reader: no exception escapes, and loaded + quarantined = read.

Each example is one landing file (CSV, Parquet, JSON Lines, 835, 837P) ingested into a real
DuckDB warehouse with the real row rules; examples are bounded so the default run stays fast.
"""

from __future__ import annotations

import io
import json
import string
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.input_contract import column_names
from data_contracts.warehouse_schema import HELD_TABLE, STAGED_TABLE
from pipelines.sources.landing import ingest_file, prepare_warehouse
from pipelines.sources.landing.files import LandingFile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"
FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Values a landing cell meets: valid ones, hostile ones, and any short text.
CELL = st.one_of(
    st.sampled_from(
        [
            "",
            "1",
            "64520",
            "2024-03-04",
            "CLM-1",
            "G90.522",
            "LT",
            "22",
            "1250.00",
            "NaN",
            "inf",
            "-1",
            "=1+1",
            '"',
            "a,b",
            "x\ny",
            "\r",
            "é",
            "\x00",
            "1e309",
            "2024-02-30",
        ]
    ),
    st.text(alphabet=string.printable + "éß€\x00", max_size=12),
)


@pytest.fixture(scope="module")
def warehouse(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    root = tmp_path_factory.mktemp("fuzz")
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    prepare_warehouse(con, b"fuzz-key")
    yield con, root
    con.close()


def _ingest(
    con: duckdb.DuckDBPyConnection, root: Path, folder: str, name: str, data: bytes
) -> None:
    """Ingest one file and check the accounting of its rows against the warehouse."""
    path = root / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    file = LandingFile(path, f"{folder}/{name}", folder, len(data))
    outcome = ingest_file(con, file)
    assert outcome.status in ("loaded", "rejected", "unchanged", "skipped_duplicate")
    if outcome.status == "unchanged":
        return
    assert outcome.rows_loaded + outcome.rows_quarantined == outcome.rows_read
    staged = sum(
        con.execute(
            f"SELECT count(*) FROM {t} WHERE source_file = ?", [file.relative_path]
        ).fetchall()[0][0]
        for t in (*STAGED_TABLE.values(), *HELD_TABLE.values(), "staged_remit_reversals")
    )
    quarantined = con.execute(
        "SELECT count(*) FROM quarantined_rows WHERE source_file = ?", [file.relative_path]
    ).fetchall()[0][0]
    if outcome.status == "rejected":
        assert (staged, quarantined, outcome.rows_loaded) == (0, 1, 0)
    else:
        assert (staged, quarantined) == (outcome.rows_loaded, outcome.rows_quarantined)


@FUZZ
@given(
    folder=st.sampled_from(["claims", "remits", "notes"]),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=24), max_size=8),
    # Each line its own ending: all LF, all CRLF, or both mixed in one file.
    endings=st.lists(st.sampled_from(["\n", "\r\n"]), min_size=9, max_size=9),
)
def test_csv(warehouse, folder: str, rows: list[list[str]], endings: list[str]) -> None:
    con, root = warehouse
    lines = [",".join(column_names(folder))]
    lines += [",".join(cell if "," not in cell else f'"{cell}"' for cell in row) for row in rows]
    text = "".join(line + ending for line, ending in zip(lines, endings, strict=False))
    _ingest(con, root, folder, "fuzz.csv", text.encode("utf-8", "replace"))


@FUZZ
@given(folder=st.sampled_from(["claims", "notes"]), data=st.binary(max_size=400))
def test_csv_garbage_bytes(warehouse, folder: str, data: bytes) -> None:
    con, root = warehouse
    _ingest(con, root, folder, "garbage.csv", data)


@FUZZ
@given(
    folder=st.sampled_from(["claims", "remits", "remit_adjustments"]),
    values=st.lists(
        st.one_of(CELL, st.integers(-10, 10**12).map(str), st.floats(allow_nan=True).map(str)),
        min_size=1,
        max_size=6,
    ),
    typed=st.booleans(),
)
def test_parquet(warehouse, folder: str, values: list[str], typed: bool) -> None:
    con, root = warehouse
    names = column_names(folder)
    frame = pl.DataFrame({n: [values[i % len(values)] for i in range(len(values))] for n in names})
    if typed and "units" in names:
        frame = frame.with_columns(pl.col("units").cast(pl.Float64, strict=False))
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    _ingest(con, root, folder, "fuzz.parquet", buffer.getvalue())


@FUZZ
@given(
    records=st.lists(
        st.one_of(
            st.dictionaries(st.sampled_from(column_names("notes")), CELL, max_size=7).map(
                json.dumps
            ),
            st.text(max_size=30),
        ),
        max_size=6,
    )
)
def test_json_lines(warehouse, records: list[str]) -> None:
    con, root = warehouse
    _ingest(con, root, "notes", "fuzz.jsonl", "\n".join(records).encode("utf-8", "replace"))


def _mutated(text: str, cut: float, drops: list[int], noise: list[tuple[int, str]]) -> bytes:
    segments = text.split("~")
    for index in drops:
        if segments:
            segments.pop(index % len(segments))
    body = "~".join(segments)
    chars = list(body)
    for position, char in noise:
        if chars:
            chars[position % len(chars)] = char
    body = "".join(chars)
    return body[: max(1, int(len(body) * cut))].encode("utf-8", "replace")


X12_MUTATION = dict(
    cut=st.floats(0.05, 1.0),
    drops=st.lists(st.integers(0, 400), max_size=4),
    noise=st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(list("*~:^\n0AZ"))), max_size=4
    ),
)


@FUZZ
@given(source=st.sampled_from(sorted((FIXTURES / "835").glob("*.835"))), **X12_MUTATION)
def test_835(warehouse, source: Path, cut: float, drops: list[int], noise) -> None:
    con, root = warehouse
    _ingest(con, root, "remits", "fuzz.835", _mutated(source.read_text(), cut, drops, noise))


@FUZZ
@given(source=st.sampled_from(sorted((FIXTURES / "837p").glob("*.837"))), **X12_MUTATION)
def test_837p(warehouse, source: Path, cut: float, drops: list[int], noise) -> None:
    con, root = warehouse
    _ingest(con, root, "claims", "fuzz.837", _mutated(source.read_text(), cut, drops, noise))
