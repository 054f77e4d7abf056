"""A CSV mixing LF and CRLF line endings loads whole, every row accounted for.

DuckDB's reader fixes one line ending per file and used to reject such a file whole
(InvalidInputException); `readers.read_csv` now reads a private LF copy of it instead.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from data_contracts.input_contract import column_names
from pipelines.sources.landing import ingest_folders
from pipelines.sources.landing.readers import mixed_line_endings
from tests.reliability.bad_landing import claim_line

KEY = b"mixed-line-endings-key-0123456789"
NOTE_TEXTS = (
    '"LSB at L3, left. Fluoro guided."',
    '"Dictated in two lines:\nbupivacaine 0.25% 10 mL, negative aspiration"',
    '"Windows line break inside:\r\nVAS 8/10 -> 2/10"',
    "No complications; pt tolerated well",
)


def _write(path: Path, lines: list[str], endings: tuple[str, ...]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(line + endings[i % len(endings)] for i, line in enumerate(lines))
    path.write_bytes(body.encode())


def _notes_lines() -> list[str]:
    rows = [",".join(column_names("notes"))]
    for i, text in enumerate(NOTE_TEXTS):
        values = {
            "note_id": f"N-{i}",
            "patient_id": f"P-{i}",
            "note_date": "2026-10-20",
            "note_type": "procedure",
            "text": text,
        }
        rows.append(",".join(values.get(c, "") for c in column_names("notes")))
    return rows


def _claims_lines(prefix: str = "MIX", count: int = 5) -> list[str]:
    names = column_names("claims")
    rows = [claim_line(f"{prefix}-{i}", "1") for i in range(count)]
    return [",".join(names)] + [",".join(r[n] for n in names) for r in rows]


@pytest.mark.parametrize("endings", [("\n", "\r\n"), ("\r\n", "\n"), ("\r\n", "\r\n", "\n")])
def test_a_csv_mixing_lf_and_crlf_loads_every_row(tmp_path: Path, endings) -> None:
    landing = tmp_path / "landing"
    _write(landing / "notes" / "mixed.csv", _notes_lines(), endings)
    _write(landing / "claims" / "mixed_a.csv", _claims_lines(), endings)
    # A second file with the same header: the one-statement run of files takes it too (with
    # rows of its own: a header-only file is rejected as holding no rows).
    _write(landing / "claims" / "mixed_b.csv", _claims_lines("MIXB", 2), endings)
    assert mixed_line_endings(landing / "notes" / "mixed.csv")
    data = tmp_path / "data"
    data.mkdir()
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        summary = ingest_folders(con, landing, ("claims", "notes"), KEY)
        notes = con.execute(
            "SELECT source_row, note_id, text FROM staged_notes ORDER BY source_row"
        ).fetchall()
        claims = con.execute("SELECT count(*) FROM staged_claim_lines").fetchall()[0][0]
        quarantined = con.execute("SELECT count(*) FROM quarantined_rows").fetchall()[0][0]
    by_path = {f.path: f for f in summary.files}
    assert {p: f.status for p, f in by_path.items()} == {
        "claims/mixed_a.csv": "loaded",
        "claims/mixed_b.csv": "loaded",
        "notes/mixed.csv": "loaded",
    }
    assert (by_path["notes/mixed.csv"].rows_read, by_path["notes/mixed.csv"].rows_loaded) == (4, 4)
    assert (by_path["claims/mixed_a.csv"].rows_read, claims, quarantined) == (5, 7, 0)
    # Values intact; a line break inside a quoted field reads as LF whichever way it was written.
    assert [n[1] for n in notes] == ["N-0", "N-1", "N-2", "N-3"]
    assert [n[0] for n in notes] == [1, 2, 3, 4]
    assert notes[1][2] == "Dictated in two lines:\nbupivacaine 0.25% 10 mL, negative aspiration"
    assert notes[2][2] == "Windows line break inside:\nVAS 8/10 -> 2/10"
    # The private LF copy is gone.
    assert sorted(p.name for p in data.iterdir()) == ["warehouse.duckdb"]


def test_uniform_line_endings_are_not_mixed(tmp_path: Path) -> None:
    for endings, mixed in ((("\n",), False), (("\r\n",), False), (("\r\n", "\n"), True)):
        path = tmp_path / "f.csv"
        _write(path, ["a,b", "1,2", "3,4"], endings)
        assert mixed_line_endings(path) is mixed
