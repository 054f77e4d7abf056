"""DuckDB readers: one landing file into temp tables of text columns, nothing row by row.

Every reader leaves, per target folder, a temp table `source_row BIGINT` + the file's columns
as VARCHAR (no type inference, so nothing is lost or silently coerced), and one temp table
`_unreadable(source_row, reason, column_name, raw_record)` for records the reader could not
split. rows_read of the file = rows of the part tables + rows of `_unreadable`.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines.sources.landing.files import FileFormat, LandingFile
from pipelines.sources.privacy import PADS_TABLE

UNREADABLE = "_unreadable"
# 835 reversals of the last X12 remit file read (claim_id, source_row, cancelled_in_file,
# adjudication_date): ingestion applies them across files.
X12_REVERSALS = "_x12_reversals"
# CSV and JSON lines hold the whole record; 16 MiB is far above any real claim line or note.
MAX_LINE_BYTES = 16 * 1024 * 1024


class FileRejected(Exception):
    """The whole file cannot be read; the ledger records the message, other files go on."""


@dataclass(frozen=True)
class ReadPart:
    """Rows of one target folder read from a file, in temp table `table`."""

    folder: str
    table: str
    columns: tuple[str, ...]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _empty_unreadable(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {UNREADABLE} (source_row BIGINT, reason VARCHAR, "
        "column_name VARCHAR, raw_record VARCHAR)"
    )


def _csv_header(file: LandingFile) -> list[str]:
    with file.path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        header = next(csv.reader(handle), None)
    if not header or not any(h.strip() for h in header):
        raise FileRejected("no header row")
    names = [h.strip() or f"column_{i + 1}" for i, h in enumerate(header)]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise FileRejected(f"duplicate column names in header: {', '.join(duplicates)}")
    return names


# One CSV field (RFC 4180): a quoted field with "" escapes, or an unquoted field without quotes.
_CSV_FIELD = '("(?:[^"]|"")*"|[^,"]*)'


def _lines_sql(file: LandingFile) -> str:
    """Physical lines of a text file as rows (`n`, `line`), no quote handling at all."""
    return f"""SELECT row_number() OVER () AS n, rtrim(line, E'\\r') AS line
        FROM read_csv({_literal(str(file.path))}, header = false, auto_detect = false,
            columns = {{'line': 'VARCHAR'}}, delim = E'\\x01', quote = '', escape = '',
            strict_mode = false, max_line_size = {MAX_LINE_BYTES})"""


def _read_csv_by_line(
    con: duckdb.DuckDBPyConnection, file: LandingFile, table: str, names: list[str]
) -> None:
    """Fallback parser, one record per physical line, in SQL: used when DuckDB's reader lost
    lines (an unterminated quote can swallow the rest of a file). A line that is not a
    well-formed RFC 4180 record with the header's field count is `unparsable_line`; a quoted
    field spanning lines is then unparsable too, but no line is ever lost.
    """
    field_count = len(names)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _csv_lines AS
        SELECT source_row, line,
               -- well-formed when the extracted fields join back to the very same line
               CASE WHEN array_to_string(parts, ',') = line THEN parts END AS fields
        FROM (
            SELECT row_number() OVER (ORDER BY n) AS source_row, line,
                   CASE WHEN contains(line, '"')
                        THEN regexp_extract_all(',' || line, ',{_CSV_FIELD}', 1)
                        ELSE string_split(line, ',') END AS parts
            FROM ({_lines_sql(file)}) WHERE n > 1 AND trim(coalesce(line, '')) <> ''
        )"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {UNREADABLE} AS
        SELECT source_row, 'unparsable_line' AS reason, CAST(NULL AS VARCHAR) AS column_name,
               line AS raw_record
        FROM _csv_lines WHERE coalesce(len(fields), -1) <> {field_count}"""
    )
    unquoted = ", ".join(
        f"CASE WHEN starts_with(fields[{i + 1}], '\"') "
        f"THEN replace(fields[{i + 1}][2:-2], '\"\"', '\"') "
        f"ELSE fields[{i + 1}] END AS {_ident(n)}"
        for i, n in enumerate(names)
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS SELECT source_row, {unquoted}
        FROM _csv_lines WHERE len(fields) = {field_count}"""
    )
    con.execute("DROP TABLE _csv_lines")


def csv_lines_balance(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    table: str,
    names: list[str],
    lines_after_header: int | None = None,
) -> bool:
    """Whether DuckDB's good and rejected records account for every non-blank line."""
    good = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    rejected = con.execute(f"SELECT count(*) FROM {UNREADABLE}").fetchall()[0][0]
    if lines_after_header is not None and good + rejected == lines_after_header:
        # Every physical line (blank ones included) is a record: nothing was lost or merged.
        return True
    data_lines = con.execute(
        f"SELECT count(*) FILTER (WHERE n > 1 AND trim(coalesce(line, '')) <> '') "
        f"FROM ({_lines_sql(file)})"
    ).fetchall()[0][0]
    if good + rejected == data_lines:
        return True
    if rejected:
        return False
    # A clean file whose quoted fields hold line breaks (note text): each break starts a
    # physical line, except the blank lines wholly inside a field, which were not counted.
    inner_lines = " + ".join(
        f"coalesce(len(list_filter(string_split({_ident(n)}, E'\\n')[2:-2], "
        "lambda x: trim(replace(x, chr(13), '')) <> '')) + "
        f"CASE WHEN contains({_ident(n)}, E'\\n') THEN 1 ELSE 0 END, 0)"
        for n in names
    )
    inner = con.execute(f"SELECT coalesce(sum({inner_lines}), 0) FROM {table}").fetchall()[0][0]
    return good + inner == data_lines


def csv_header(file: LandingFile) -> list[str]:
    """The header's column names; FileRejected when there is none or a name repeats."""
    return _csv_header(file)


def csv_source_sql(file: LandingFile | list[str], names: list[str]) -> str:
    """A subquery over DuckDB's CSV reader: `source_row` (1-based, before renumbering) + text.

    Given a list of paths (files with this header), one read covers them all in list order,
    `source_row` runs on across files and a `filename` column names each row's file.
    Malformed records go to the rejects tables (`load_csv_rejects` turns them into
    `_unreadable`); the caller drops those tables first (`reset_csv_rejects`).
    """
    columns = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names) + "}"
    if isinstance(file, list):
        paths = "[" + ", ".join(_literal(p) for p in file) + "], filename = true"
    else:
        paths = _literal(str(file.path))
    return f"""(SELECT row_number() OVER () AS source_row, *
        FROM read_csv({paths}, header = true, auto_detect = false,
            columns = {columns}, delim = ',', quote = '"', escape = '"',
            max_line_size = {MAX_LINE_BYTES}, store_rejects = true,
            rejects_table = '_csv_rejects', rejects_scan = '_csv_reject_scans'))"""


def reset_csv_rejects(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the rejects tables of the previous CSV read."""
    con.execute("DROP TABLE IF EXISTS _csv_rejects")
    con.execute("DROP TABLE IF EXISTS _csv_reject_scans")


def load_csv_rejects(con: duckdb.DuckDBPyConnection) -> int:
    """`_unreadable` from the last CSV read's rejects; returns how many records were rejected."""
    # One record can raise several errors (e.g. an open quote and a short row): count it once.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {UNREADABLE} AS
        SELECT CAST(line - 1 AS BIGINT) AS source_row, 'unparsable_line' AS reason,
               CAST(NULL AS VARCHAR) AS column_name,
               first(csv_line ORDER BY column_idx) AS raw_record
        FROM _csv_rejects GROUP BY line"""
    )
    return int(con.execute(f"SELECT count(*) FROM {UNREADABLE}").fetchall()[0][0])


def renumber_around_rejects(
    con: duckdb.DuckDBPyConnection, table: str, source_file: str | None = None
) -> None:
    """Good rows after the k-th rejected record move down by k (ASOF: last reject before).

    `source_file` limits the renumbering to that file's rows of a table holding several files.
    """
    only = g_only = "true"
    if source_file is not None:
        only = f"source_file = {_literal(source_file)}"
        g_only = f"g.{only}"
    con.execute(
        f"""UPDATE {table} AS g SET source_row = g.source_row + m.bad_before
        FROM (
            WITH ranked AS (
                SELECT source_row - row_number() OVER (ORDER BY source_row) AS good_before,
                       row_number() OVER (ORDER BY source_row) AS bad_before
                FROM {UNREADABLE}
            ),
            bad AS (SELECT good_before, max(bad_before) AS bad_before FROM ranked GROUP BY 1)
            SELECT t.source_row AS good_row, b.bad_before
            FROM (SELECT source_row FROM {table} WHERE {only}) t
            ASOF JOIN bad b ON t.source_row > b.good_before
        ) AS m
        WHERE g.source_row = m.good_row AND {g_only}"""
    )


def _read_csv_records(
    con: duckdb.DuckDBPyConnection, file: LandingFile, table: str, names: list[str]
) -> None:
    reset_csv_rejects(con)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {csv_source_sql(file, names)}"
    )
    if load_csv_rejects(con):
        renumber_around_rejects(con, table)


_CHUNK = 1 << 20


def mixed_line_endings(path: Path) -> bool:
    """True when the file ends some lines with CRLF and others with a bare LF."""
    crlf = lf = 0
    pending_cr = False
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            lf += chunk.count(b"\n")
            crlf += chunk.count(b"\r\n") + (pending_cr and chunk.startswith(b"\n"))
            pending_cr = chunk.endswith(b"\r")
            if crlf and lf > crlf:
                return True
    return False


@contextmanager
def lf_copy(con: duckdb.DuckDBPyConnection, path: Path) -> Iterator[Path]:
    """A private copy of the file with CRLF turned into LF, removed on exit.

    Written beside the warehouse file (the folder already trusted with PHI; the system temp
    folder when the warehouse is in memory), readable by its owner only.
    """
    databases = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchall()
    folder = Path(databases[0][0]).parent if databases and databases[0][0] else None
    with tempfile.TemporaryDirectory(prefix=".lf-copy-", dir=folder) as scratch:
        copy = Path(scratch) / path.name
        pending_cr = b""
        with path.open("rb") as source, copy.open("wb") as target:
            while chunk := source.read(_CHUNK):
                chunk = pending_cr + chunk
                # A CR at the chunk's end may start a CRLF split across two chunks.
                pending_cr = b"\r" if chunk.endswith(b"\r") else b""
                target.write(chunk[: len(chunk) - len(pending_cr)].replace(b"\r\n", b"\n"))
            target.write(pending_cr)
        yield copy


def read_csv(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    table: str,
    lines_after_header: int | None = None,
) -> tuple[str, ...]:
    """RFC 4180 CSV with DuckDB's reader; malformed records go to `_unreadable` via rejects.

    Data rows are numbered from 1 in file order; a rejected record's number comes from the
    line DuckDB reports (header = line 1), and good rows are renumbered around the rejected
    ones with an ASOF join, so source_row is the record's place in the file.
    `lines_after_header` (from `files.scan_file`) lets a file whose every line is a record skip
    the line-by-line recount.
    """
    names = _csv_header(file)
    mixed = None
    try:
        _read_csv_records(con, file, table, names)
        balanced = csv_lines_balance(con, file, table, names, lines_after_header)
    except duckdb.InvalidInputException:
        mixed = mixed_line_endings(file.path)
        if not mixed:
            raise
        balanced = False
    if not balanced and (mixed if mixed is not None else mixed_line_endings(file.path)):
        # DuckDB's reader fixes one line ending per file: a file mixing LF and CRLF can be
        # rejected whole or have its records split. A copy with every CRLF made LF reads as the
        # file was meant (the same lines, so the balance still holds; a CRLF inside a quoted
        # field becomes LF).
        with lf_copy(con, file.path) as copy:
            _read_csv_records(con, replace(file, path=copy), table, names)
        balanced = csv_lines_balance(con, file, table, names, lines_after_header)
    if not balanced:
        _read_csv_by_line(con, file, table, names)
    return tuple(names)


def read_parquet(con: duckdb.DuckDBPyConnection, file: LandingFile, table: str) -> tuple[str, ...]:
    """Parquet columns rendered as contract text: dates ISO, whole floats without '.0', lists ';'."""
    source = f"read_parquet({_literal(str(file.path))}, file_row_number = true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as error:
        raise FileRejected(f"unreadable Parquet file ({type(error).__name__})") from error
    names = [row[0] for row in described if row[0] != "file_row_number"]
    types = {row[0]: str(row[1]).upper() for row in described}
    rendered = []
    for name in names:
        col = _ident(name)
        kind = types[name]
        if kind.startswith("TIMESTAMP"):
            expr = f"CAST(CAST({col} AS DATE) AS VARCHAR)"
        elif kind in ("DOUBLE", "FLOAT", "REAL"):
            expr = (
                f"CASE WHEN isfinite({col}) AND {col} = trunc({col}) AND abs({col}) < 1e15 "
                f"THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END"
            )
        elif kind.endswith("[]"):
            expr = f"array_to_string({col}, ';')"
        else:
            expr = f"CAST({col} AS VARCHAR)"
        rendered.append(f"{expr} AS {col}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        f"SELECT file_row_number + 1 AS source_row, {', '.join(rendered)} FROM {source}"
    )
    _empty_unreadable(con)
    return tuple(names)


def read_jsonl(con: duckdb.DuckDBPyConnection, file: LandingFile, table: str) -> tuple[str, ...]:
    """JSON Lines read as whole lines, parsed with DuckDB's JSON functions; blank lines skipped.

    A line that is not a JSON object is `unparsable_line`; source_row is the physical line.
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _json_lines AS SELECT n AS source_row, line "
        f"FROM ({_lines_sql(file)})"
    )
    con.execute("DELETE FROM _json_lines WHERE line IS NULL OR trim(line) = ''")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {UNREADABLE} AS
        SELECT source_row, 'unparsable_line' AS reason, CAST(NULL AS VARCHAR) AS column_name,
               line AS raw_record
        FROM _json_lines
        WHERE NOT CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END"""
    )
    con.execute(
        f"DELETE FROM _json_lines WHERE source_row IN (SELECT source_row FROM {UNREADABLE})"
    )
    keys = con.execute(
        "SELECT k FROM (SELECT unnest(json_keys(line)) AS k, min(source_row) AS first_row "
        "FROM _json_lines GROUP BY k) ORDER BY first_row, k"
    ).fetchall()
    names = [k for (k,) in keys]
    if not names:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (source_row BIGINT)")
        return ()
    paths = "[" + ", ".join(_literal("$." + '"' + n.replace('"', '\\"') + '"') for n in names) + "]"
    extracted = ", ".join(f"v[{i + 1}] AS {_ident(n)}" for i, n in enumerate(names))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {table} AS
        SELECT source_row, {extracted}
        FROM (SELECT source_row, json_extract_string(line, {paths}) AS v FROM _json_lines)"""
    )
    con.execute("DROP TABLE _json_lines")
    return tuple(names)


def _frame_to_table(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, table: str) -> None:
    text = frame.with_columns(
        pl.exclude("source_row").cast(pl.String), pl.col("source_row").cast(pl.Int64)
    )
    con.register("_x12_frame", text.to_arrow())
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _x12_frame")
    finally:
        con.unregister("_x12_frame")


def _x12_module() -> Any:
    try:
        return importlib.import_module("pipelines.sources.x12")
    except ImportError as error:
        raise FileRejected(
            f"X12 file found but the X12 reader (pipelines.sources.x12) is not available: {error}"
        ) from error


def read_x12(
    con: duckdb.DuckDBPyConnection, file: LandingFile, tables: dict[str, str]
) -> list[ReadPart]:
    """An 837P (claims/) or 835 (remits/) interchange through the project's X12 readers."""
    x12 = _x12_module()
    try:
        if file.folder == "claims":
            batch = x12.read_x12_claims(file.path)
            frames = {"claims": _claims_frame(batch)}
        else:
            batch = x12.read_x12_remits(file.path)
            frames = {"remits": batch.remits, "remit_adjustments": batch.adjustments}
    except FileRejected:
        raise
    except Exception as error:
        raise FileRejected(f"unreadable X12 file ({type(error).__name__})") from error
    empty = _nothing_to_load(file.folder, frames, batch)
    if empty is not None:
        raise FileRejected(empty)
    parts = []
    for folder, frame in frames.items():
        _frame_to_table(con, frame, tables[folder])
        parts.append(
            ReadPart(folder, tables[folder], tuple(c for c in frame.columns if c != "source_row"))
        )
    rejected = batch.rejected
    reversals = getattr(batch, "reversals", None)
    if file.folder == "remits" and isinstance(reversals, pl.DataFrame):
        _frame_to_table(con, reversals, X12_REVERSALS)
        # A reversal whose original came in an earlier file is not bad input: it is loaded into
        # staged_remit_reversals and cancels that earlier outcome (docs/x12.md).
        rejected = rejected.filter(
            ~(
                (pl.col("reason") == "unmatched_reversal")
                & pl.col("source_row").is_in(reversals["source_row"].to_list())
            )
        )
    if rejected.height:
        hash_id = _patient_hasher(con)
        redacted = rejected.with_columns(
            pl.col("raw_record").map_elements(
                lambda text: x12.redact_x12_text(text, hash_id), return_dtype=pl.String
            )
        )
        _frame_to_table(
            con, redacted.select("source_row", "reason", "column_name", "raw_record"), UNREADABLE
        )
    else:
        _empty_unreadable(con)
    return parts


# Rejections that describe the file rather than a claim or line in it.
_FILE_LEVEL_REJECTIONS = frozenset({"not_x12", "not_835", "not_837", "truncated_file"})


def _nothing_to_load(folder: str, frames: dict[str, pl.DataFrame], batch: Any) -> str | None:
    """Why an X12 file is rejected whole: it holds no X12, no transaction set of the folder's
    kind, or no claim or remittance line at all; None when it has rows to load or quarantine."""
    rejected: pl.DataFrame = batch.rejected
    reasons = set(rejected["reason"].to_list())
    if "not_x12" in reasons:
        return "no X12 interchange: the file does not start with ISA (or a bare GS/ST segment)"
    rows = sum(frame.height for frame in frames.values())
    reversals = getattr(batch, "reversals", None)
    if isinstance(reversals, pl.DataFrame):
        rows += reversals.height
    if rows or not reasons <= _FILE_LEVEL_REJECTIONS:
        return None
    kind = "837" if folder == "claims" else "835"
    other = sorted(
        {
            raw.split(raw[2], 2)[1] if len(raw) > 3 else raw
            for raw, reason in rejected.select("raw_record", "reason").iter_rows()
            if reason in ("not_835", "not_837") and raw
        }
    )
    if other:
        return f"no {kind} transaction set (found ST {', '.join(other)}): not a file for {folder}/"
    what = "claim lines (SV1)" if folder == "claims" else "remittance lines (CLP/SVC)"
    return f"no {what}: the {kind} holds no rows to load"


def _patient_hasher(con: duckdb.DuckDBPyConnection) -> Callable[[str], str]:
    """The keyed hash of `patient_key_sql`, from the pads `prepare_warehouse` left on `con`."""
    try:
        ipad, opad = con.execute(f"SELECT ipad, opad FROM {PADS_TABLE}").fetchall()[0]
    except (duckdb.Error, IndexError):
        return lambda _value: "[withheld]"
    return lambda value: hashlib.sha256(
        bytes(opad) + hashlib.sha256(bytes(ipad) + value.encode()).digest()
    ).hexdigest()


def _claims_frame(batch: Any) -> pl.DataFrame:
    for name in ("claims", "claim_lines", "lines"):
        frame = getattr(batch, name, None)
        if isinstance(frame, pl.DataFrame):
            return frame
    raise FileRejected("the X12 claim reader returned no claim-line frame")


def read_file(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    fmt: FileFormat,
    tables: dict[str, str],
    lines_after_header: int | None = None,
) -> list[ReadPart]:
    """Read one landing file into temp tables; raises FileRejected when it cannot be read."""
    if fmt == "x12":
        return read_x12(con, file, tables)
    table = tables[file.folder]
    try:
        if fmt == "csv":
            columns = read_csv(con, file, table, lines_after_header)
        elif fmt == "parquet":
            columns = read_parquet(con, file, table)
        else:
            columns = read_jsonl(con, file, table)
    except FileRejected:
        raise
    except duckdb.Error as error:
        # DuckDB's message may quote record text (identifiers): name the error class only.
        raise FileRejected(f"unreadable {fmt} file ({type(error).__name__})") from error
    return [ReadPart(file.folder, table, columns)]
