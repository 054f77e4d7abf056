"""The fast paths of ingestion give what the careful per-file path gives.

Runs of CSV files are read in one statement, files are committed in batches and the line count
comes from the hashing pass; these tests pin that the results do not depend on any of that.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from landing_world import claim_row, remit_row, write_csv

from pipelines.sources.landing import ingest_file, ingest_folders
from pipelines.sources.landing.files import discover, scan_file
from pipelines.sources.landing.staging import prepare_warehouse

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("data", "lines", "plain"),
    [
        (b"h\na\nb\n", 2, True),
        (b"h\na\nb", 2, True),
        (b"h\r\na\r\n\r\nb\r\n", 3, True),  # a blank line counts; the reader then recounts
        (b"h\na\t\n", 1, False),
        (b'h\n"a\nb"\nc\n', 3, True),  # a quoted line break: records < lines
        (b"h\na\rb\n", None, False),  # a lone CR is a line break to DuckDB: count unknown
        (b"h\na\r", None, False),
        (b"", 0, True),
    ],
)
def test_scan_counts_lines_and_whitespace_kinds(
    tmp_path: Path, data: bytes, lines: int | None, plain: bool
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    scan = scan_file(path)
    assert (scan.lines_after_header, scan.plain_whitespace) == (lines, plain)


def test_scan_sees_a_crlf_split_across_chunks(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import pipelines.sources.landing.files as files

    monkeypatch.setattr(files, "_HASH_CHUNK", 3)
    path = tmp_path / "f.csv"
    path.write_bytes(b"ab\r\ncd\r\nef\r\n")
    assert scan_file(path).lines_after_header == 2
    assert scan_file(path).plain_whitespace


def _dirty_landing(landing: Path) -> None:
    """Three claims files in one run: padded cells, bad rows, duplicates, an unparsable line."""
    write_csv(
        landing / "claims" / "a.csv",
        [claim_row(claim_id=f"A{i}", charge_amount=" 100.00 ") for i in range(1, 6)]
        + [claim_row(claim_id="A9", service_date="2024-13-01")],
    )
    rows_b = [claim_row(claim_id=f"B{i}") for i in range(1, 5)]
    rows_b.append(claim_row(claim_id="A2"))  # taken by a.csv
    rows_b.append(claim_row(claim_id="B1"))  # taken earlier in b.csv
    write_csv(landing / "claims" / "b.csv", rows_b)
    path = write_csv(landing / "claims" / "c.csv", [claim_row(claim_id=f"C{i}") for i in range(3)])
    with path.open("a") as handle:
        handle.write('"C9,broken\n')
        handle.write(",".join(claim_row(claim_id="C7").values()) + "\n")
    write_csv(landing / "remits" / "r.csv", [remit_row(claim_id="A1")])


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        "claims": con.execute(
            # source_row last, as the assertions below read it (rendering_provider_name, added
            # to the table after it, is compared here too).
            "SELECT * EXCLUDE (patient_key, source_row), source_row FROM staged_claim_lines "
            "ORDER BY ALL"
        ).fetchall(),
        "quarantine": con.execute(
            "SELECT source_file, source_row, reason, column_name, raw_record "
            "FROM quarantined_rows ORDER BY ALL"
        ).fetchall(),
        "ledger": con.execute(
            "SELECT path, status, rows_read, rows_loaded, rows_quarantined FROM ingest_ledger "
            "ORDER BY path"
        ).fetchall(),
    }


def test_a_run_of_csv_files_stages_like_files_one_by_one(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _dirty_landing(landing)
    with duckdb.connect(str(tmp_path / "run.duckdb")) as con:
        summary = ingest_folders(con, landing, ("claims", "remits"), KEY)
        together = _tables(con)
    with duckdb.connect(str(tmp_path / "single.duckdb")) as con:
        prepare_warehouse(con, KEY)
        for folder in ("claims", "remits"):
            for file in discover(landing, folder):
                ingest_file(con, file)
        one_by_one = _tables(con)
    assert together == one_by_one
    assert [(f.path, f.rows_read, f.rows_loaded, f.rows_quarantined) for f in summary.files] == [
        ("claims/a.csv", 6, 5, 1),
        ("claims/b.csv", 6, 4, 2),
        ("claims/c.csv", 5, 4, 1),
        ("remits/r.csv", 1, 1, 0),
    ]
    reasons = [(q[0], q[1], q[2], q[3]) for q in together["quarantine"]]
    assert reasons == [
        ("claims/a.csv", 6, "bad_date", "service_date"),
        ("claims/b.csv", 5, "duplicate_key", "claim_id/line_number"),
        ("claims/b.csv", 6, "duplicate_key", "claim_id/line_number"),
        ("claims/c.csv", 4, "unparsable_line", None),
    ]
    # Padded cells are trimmed; the line after the broken one keeps its place in the file.
    assert {r[0]: r[18] for r in together["claims"] if r[0].startswith("A")}["A1"] == 100
    assert [(r[0], r[-1]) for r in together["claims"] if r[0].startswith("C")][-1] == ("C7", 5)


def test_batches_commit_every_file_and_a_rerun_changes_nothing(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import pipelines.sources.landing.staging as staging

    landing = tmp_path / "landing"
    _dirty_landing(landing)
    # A batch per file or two: every batch boundary must leave the same tables.
    monkeypatch.setattr(staging, "FLUSH_ROWS", 5)
    with duckdb.connect(str(tmp_path / "small.duckdb")) as con:
        ingest_folders(con, landing, ("claims", "remits"), KEY)
        small = _tables(con)
        again = ingest_folders(con, landing, ("claims", "remits"), KEY)
        assert {f.status for f in again.files} == {"unchanged"}
        assert _tables(con) == small
    monkeypatch.setattr(staging, "FLUSH_ROWS", 1_000_000)
    with duckdb.connect(str(tmp_path / "large.duckdb")) as con:
        ingest_folders(con, landing, ("claims", "remits"), KEY)
        assert _tables(con) == small
