"""Load landing files into the staged tables: row rules, quarantine and the file ledger.

Per file, in this order: hash it (the same pass counts its lines); skip it when the ledger
already has that content; read it with DuckDB as text; reject it whole when a required column
is missing; normalise it and evaluate the row rules of `data_contracts/row_rules.py` in SQL into
a pending temp table (first failing rule per row, NULL = loads). Pending rows reach the
warehouse in ONE transaction per batch (`FLUSH_ROWS` rows read, and at the end): delete whatever
the batch's paths loaded before, insert the passing rows typed (patient ids hashed once per
patient), the quarantined rows and the ledger rows. So a crash leaves the state of the last
committed batch (never half a file), a changed file replaces its rows, and every read row is
either loaded or quarantined with one reason (rows_loaded + rows_quarantined = rows_read,
checked per file before anything is written).

Speed (docs/performance.md "Ingestion"): consecutive CSV files with the same header are read,
normalised and checked in ONE statement straight from DuckDB's reader (`_stage_csv_run`), when
every physical line is a record; anything unusual (a rejected record, records spanning lines,
a lone CR) sends the files one by one through the careful path, which materialises the raw
text, recounts lines and re-parses line by line when DuckDB lost lines. The raw text of a file
is read again only when some of its rows fail, for their `raw_record`.

Duplicate keys (claims: claim_id + line_number; notes: note_id): the row loaded first wins.
Files are processed in path order, rows in file order; a later row with a key already loaded
from another file, or seen earlier in the same file, is quarantined as `duplicate_key`. When the
file holding the winning row changes, rows quarantined earlier in other files are not revived
(re-drop those files to load them).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb

from data_contracts.input_contract import FOLDERS, column_names, required_columns
from data_contracts.row_rules import (
    UNIQUE_KEYS,
    first_failure_sql,
    icd10_list_sql,
    normalized_sql,
    rules,
)
from data_contracts.staged_select import CARRIED_COLUMNS
from data_contracts.staged_select import typed_select as _typed_select
from data_contracts.warehouse_schema import INGEST_DDL, STAGED_TABLE
from pipelines.sources.landing.files import (
    FileScan,
    LandingFile,
    detect_format,
    discover,
    scan_file,
)
from pipelines.sources.landing.readers import (
    UNREADABLE,
    X12_REVERSALS,
    FileRejected,
    ReadPart,
    csv_header,
    csv_source_sql,
    load_csv_rejects,
    read_csv,
    read_file,
    renumber_around_rejects,
    reset_csv_rejects,
)
from pipelines.sources.landing.reference import load_reference_tables, reference_tables_present
from pipelines.sources.privacy import PADS_TABLE, hmac_pads, patient_key_sql

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Folders whose records hold patient identifiers: their raw text is redacted before it is kept.
PHI_FOLDERS = frozenset({"claims", "notes"})
# Non-contract columns that look like identifiers are dropped, never kept in extra_columns.
PHI_LIKE_COLUMN = re.compile(
    r"name|ssn|social|birth|dob|address|street|zip|phone|email|mrn|member|subscriber|patient",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one landing file in this run."""

    path: str
    folder: str
    status: str  # loaded, unchanged, skipped_duplicate or rejected
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    message: str | None = None


@dataclass(frozen=True)
class IngestSummary:
    """Files and rows of one staging asset's run, plus the staged tables' sizes after it."""

    folders: tuple[str, ...]
    files: tuple[FileOutcome, ...]
    table_rows: dict[str, int] = field(default_factory=dict)

    @property
    def files_loaded(self) -> int:
        return sum(f.status == "loaded" for f in self.files)

    @property
    def files_skipped(self) -> int:
        return sum(f.status in ("unchanged", "skipped_duplicate") for f in self.files)

    @property
    def files_rejected(self) -> int:
        return sum(f.status == "rejected" for f in self.files)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def rejected_files(self) -> str:
        return "\n".join(f"{f.path}: {f.message}" for f in self.files if f.status == "rejected")

    def metadata(self) -> dict[str, int | str]:
        """The figures the CLI summary reads (docs/architecture.md, metadata keys)."""
        return {
            "files_loaded": self.files_loaded,
            "files_skipped": self.files_skipped,
            "files_rejected": self.files_rejected,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rejected_files": self.rejected_files,
        }


def _lit(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def prepare_warehouse(con: duckdb.DuckDBPyConnection, phi_key: bytes) -> None:
    """Create the ingest tables, the reference tables when absent, and the HMAC pads."""
    for ddl in INGEST_DDL:
        con.execute(ddl)
    if not reference_tables_present(con):
        load_reference_tables(con)
    inner, outer = hmac_pads(phi_key)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PADS_TABLE} (ipad BLOB, opad BLOB)")
    con.execute(f"INSERT INTO {PADS_TABLE} VALUES (?, ?)", [inner, outer])


def _raw_record_sql(folder: str, columns: tuple[str, ...]) -> str:
    """The record as JSON text; patient_id becomes its key and the birth date is withheld."""
    items = []
    for name in columns:
        lowered = name.lower()
        if lowered == "patient_id":
            value = patient_key_sql(normalized_sql("patient_id", f"raw.{_ident(name)}"))
            items.append(f"'patient_key', {value}")
        elif lowered == "patient_birth_date" or (
            folder in PHI_FOLDERS
            and lowered not in column_names(folder)
            and PHI_LIKE_COLUMN.search(name)
        ):
            items.append(f"{_lit(name)}, '[withheld]'")
        else:
            items.append(f"{_lit(name)}, raw.{_ident(name)}")
    return f"CAST(json_object({', '.join(items)}) AS VARCHAR)"


# Staged rows wait in temp tables and reach the warehouse in one transaction per batch of about
# this many rows read: measured on 1M claim lines, one commit per file (27 files) cost 4.4 s
# against 2.2 s for one transaction (DuckDB writes whole row groups instead of a WAL per file);
# a crash loses at most one batch, never half a file.
FLUSH_ROWS = 1_000_000
PENDING_PREFIX = "_pending_"
REVERSALS_TABLE = "staged_remit_reversals"
# Paths staged in the current batch: their committed rows are about to be replaced.
BATCH_PATHS = "_batch_paths"


@dataclass
class _Batch:
    """Files staged since the last commit: their rows in temp tables, their ledger rows here."""

    ledger: list[list[object]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    loaded_sha: dict[str, str] = field(default_factory=dict)
    rows: int = 0


def _pending(table: str) -> str:
    return PENDING_PREFIX + table


def _checked(folder: str) -> str:
    """Pending rows of a folder: normalised text, the first failing rule (NULL = loads)."""
    return f"_pending_checked_{folder}"


def _create_pending_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Empty pending tables (left-overs of a failed run on this connection are dropped)."""
    for folder in STAGED_TABLE:
        columns = ", ".join(
            f"{name} VARCHAR" for name in (*column_names(folder), *CARRIED_COLUMNS[folder])
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_checked(folder)} (source_file VARCHAR, "
            f"source_row BIGINT, {columns}, _extra VARCHAR, rule_index INTEGER)"
        )
    for table in ("quarantined_rows", REVERSALS_TABLE):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_pending(table)} AS SELECT * FROM {table} LIMIT 0"
        )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {BATCH_PATHS} (path VARCHAR)")


def _insert_staged_sql(folder: str) -> str:
    """INSERT of a folder's passing pending rows, typed, patient ids hashed once per patient."""
    targets, exprs = _typed_select(folder)
    passing = f"SELECT * FROM {_checked(folder)} WHERE rule_index IS NULL"
    if folder == "claims":
        passing = (
            f"SELECT *, {icd10_list_sql('diagnosis_codes')} AS _dx "
            f"FROM {_checked(folder)} WHERE rule_index IS NULL"
        )
    join_keys = ""
    if "patient_id" in column_names(folder):
        join_keys = " JOIN _patient_keys pk USING (patient_id)"
    return (
        f"INSERT INTO {STAGED_TABLE[folder]} ({', '.join(targets)}) "
        f"SELECT {', '.join(exprs)} FROM ({passing}) r{join_keys}"
    )


def _flush(con: duckdb.DuckDBPyConnection, batch: _Batch) -> None:
    """Write the batch in ONE transaction: earlier rows of its paths go, new rows and ledger land."""
    if not batch.ledger:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (*STAGED_TABLE.values(), "quarantined_rows"):
            con.execute(
                f"DELETE FROM {table} WHERE source_file IN (SELECT path FROM {BATCH_PATHS})"
            )
        for folder in STAGED_TABLE:
            if "patient_id" in column_names(folder):
                # One HMAC per distinct patient of the batch, not per row (2.7 s per 1M rows).
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE _patient_keys AS SELECT patient_id, "
                    f"{patient_key_sql('patient_id')} AS patient_key FROM (SELECT DISTINCT "
                    f"patient_id FROM {_checked(folder)} WHERE rule_index IS NULL)"
                )
            con.execute(_insert_staged_sql(folder))
        for table in ("quarantined_rows", REVERSALS_TABLE):
            con.execute(f"INSERT INTO {table} SELECT * FROM {_pending(table)}")
        con.executemany(
            "INSERT OR REPLACE INTO ingest_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch.ledger,
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for folder in STAGED_TABLE:
            con.execute(f"DELETE FROM {_checked(folder)}")
        for table in ("quarantined_rows", REVERSALS_TABLE):
            con.execute(f"DELETE FROM {_pending(table)}")
        con.execute(f"DELETE FROM {BATCH_PATHS}")
    batch.ledger.clear()
    batch.paths.clear()
    batch.loaded_sha.clear()
    batch.rows = 0


@dataclass(frozen=True)
class _StagedPart:
    folder: str
    loaded: int
    quarantined: int
    extras: tuple[str, ...]
    dropped: tuple[str, ...]


@dataclass(frozen=True)
class _CheckedPart:
    """A part whose rows sit in the folder's pending table with their first failing rule."""

    part: ReadPart
    rows: int
    extras: tuple[str, ...]
    dropped: tuple[str, ...]


def _check_part(
    con: duckdb.DuckDBPyConnection,
    part: ReadPart,
    file_literal: str,
    spaces_only: bool = False,
) -> _CheckedPart:
    # `file_literal` is SQL: a quoted path, or a column of `part.table` naming each row's file.
    """Normalise one part and evaluate the row rules into the folder's pending table.

    `part.table` may be a table or a subquery over a reader (then the raw text is read once
    and never materialised: ~1.1 s CPU per 1M claim lines saved).
    """
    folder = part.folder
    by_lower = {c.lower(): c for c in part.columns}
    missing = [c for c in required_columns(folder) if c not in by_lower]
    if missing:
        raise FileRejected(f"missing required column(s): {', '.join(missing)}")
    contract = column_names(folder)
    carried = CARRIED_COLUMNS[folder]
    known = set(contract) | set(carried)
    non_contract = [c for c in part.columns if c.lower() not in known]
    dropped = tuple(c for c in non_contract if folder in PHI_FOLDERS and PHI_LIKE_COLUMN.search(c))
    extras = tuple(c for c in non_contract if c not in dropped)

    selects = [f"{file_literal} AS source_file", "source_row"]
    for name in (*contract, *carried):
        source = by_lower.get(name)
        expr = (
            normalized_sql(name, _ident(source), spaces_only) if source else "CAST(NULL AS VARCHAR)"
        )
        selects.append(f"{expr} AS {name}")
    extra_json = (
        "CAST(json_object(" + ", ".join(f"{_lit(c)}, {_ident(c)}" for c in extras) + ") AS VARCHAR)"
        if extras
        else "CAST(NULL AS VARCHAR)"
    )
    selects.append(f"{extra_json} AS _extra")
    columns = ", ".join(("source_file", "source_row", *contract, *carried, "_extra", "rule_index"))
    rows = _count(
        con,
        f"INSERT INTO {_checked(folder)} ({columns}) "
        f"SELECT r.*, {first_failure_sql(folder)} AS rule_index "
        f"FROM (SELECT {', '.join(selects)} FROM {part.table}) r",
    )
    return _CheckedPart(part, rows, extras, dropped)


def _mark_duplicates(con: duckdb.DuckDBPyConnection, folder: str, file_literal: str) -> None:
    """rule_index 0 (duplicate_key) for passing rows whose key is taken.

    Taken: earlier in this file, or held by another file (committed and not being replaced in
    this batch, or staged earlier in the batch); the first loaded wins. The file's own keys
    probe the big tables, so a file costs one scan of their key columns.
    """
    keys = UNIQUE_KEYS[folder]
    if not keys:
        return
    checked = _checked(folder)
    typed = {"line_number": "TRY_CAST({} AS INTEGER)"}

    def key_exprs(alias: str) -> str:
        return ", ".join(typed.get(k, "{}").format(f"{alias}.{k}") + f" AS {k}" for k in keys)

    names = ", ".join(keys)
    first = keys[0]
    con.execute(
        f"""UPDATE {checked} SET rule_index = 0
        WHERE source_file = {file_literal} AND source_row IN (
            WITH mine AS (
                SELECT source_row, {key_exprs("c")}
                FROM {checked} c WHERE source_file = {file_literal} AND rule_index IS NULL
            ),
            taken AS (
                SELECT {names} FROM {STAGED_TABLE[folder]}
                WHERE {first} IN (SELECT {first} FROM mine)
                  AND source_file <> {file_literal}
                  AND source_file NOT IN (SELECT path FROM {BATCH_PATHS})
                UNION ALL
                SELECT {key_exprs("p")} FROM {checked} p
                WHERE p.source_file <> {file_literal} AND p.rule_index IS NULL
                  AND p.{first} IN (SELECT {first} FROM mine)
            )
            SELECT source_row FROM (
                SELECT source_row, {names},
                       row_number() OVER (PARTITION BY {names} ORDER BY source_row) AS rn
                FROM mine)
            WHERE rn > 1 OR ({names}) IN (SELECT ({names}) FROM taken))"""
    )


def _quarantine_part(
    con: duckdb.DuckDBPyConnection, checked: _CheckedPart, file_literal: str, now_literal: str
) -> _StagedPart:
    """Queue the part's failing rows for quarantine, with the raw record from `part.table`."""
    part = checked.part
    folder = part.folder
    keys = UNIQUE_KEYS[folder]
    reasons = [("duplicate_key", "/".join(keys) or None)] + [
        (rule.reason, rule.column) for rule in rules(folder)
    ]
    reason_values = ", ".join(
        f"({index}, {_lit(reason)}, {_lit(column)})"
        for index, (reason, column) in enumerate(reasons)
    )
    quarantined = _count(
        con,
        f"INSERT INTO {_pending('quarantined_rows')} SELECT "
        f"{file_literal}, {_lit(folder)}, c.source_row, q.reason, q.column_name, "
        f"{_raw_record_sql(folder, part.columns)}, {now_literal} "
        f"FROM (SELECT source_row, rule_index FROM {_checked(folder)} "
        f"WHERE source_file = {file_literal} AND rule_index IS NOT NULL) c "
        f"JOIN (VALUES {reason_values}) q(rule_index, reason, column_name) "
        f"USING (rule_index) JOIN {part.table} raw USING (source_row)",
    )
    return _StagedPart(
        folder, checked.rows - quarantined, quarantined, checked.extras, checked.dropped
    )


def _failing_rows(con: duckdb.DuckDBPyConnection, folder: str, file_literal: str) -> int:
    return _count(
        con,
        f"SELECT count(*) FROM {_checked(folder)} "
        f"WHERE source_file = {file_literal} AND rule_index IS NOT NULL",
    )


def _stage_parts(
    con: duckdb.DuckDBPyConnection,
    parts: list[ReadPart],
    file_literal: str,
    now_literal: str,
    spaces_only: bool = False,
) -> list[_StagedPart]:
    """Check, dedupe and quarantine materialised parts (read by `read_file`)."""
    staged = []
    for part in parts:
        checked = _check_part(con, part, file_literal, spaces_only)
        _mark_duplicates(con, part.folder, file_literal)
        staged.append(_quarantine_part(con, checked, file_literal, now_literal))
    return staged


@dataclass(frozen=True)
class _CsvDue:
    """A due CSV file whose every physical line should be one record, with its header."""

    due: _Due
    names: tuple[str, ...]


RUN_FILES = "_run_files"


def _stage_csv_run(
    con: duckdb.DuckDBPyConnection, run: list[_CsvDue], batch: _Batch
) -> list[FileOutcome] | set[str]:
    """Consecutive CSV files with one header, read, normalised and checked in ONE statement.

    One multi-file read instead of one per file: measured on 1M claim lines in 27 files, 3.0 s
    against 4.3 s CPU (planning, decorrelated code-set joins and reader start-up per file).
    Rows are numbered per file from the scanned line counts, which holds only when no record
    was rejected and every file's rows match its lines; otherwise the files go one by one
    through `_load_file` (their pending rows are dropped first) and this returns the paths
    that broke the run, which skip the one-statement path there.
    """
    folder = run[0].due.file.folder
    names = list(run[0].names)
    offsets, total = [], 0
    for item in run:
        offsets.append(total)
        total += item.due.scan.lines_after_header or 0
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {RUN_FILES} "
        "(filename VARCHAR, path VARCHAR, seq INTEGER, row_offset BIGINT, lines BIGINT)"
    )
    con.executemany(
        f"INSERT INTO {RUN_FILES} VALUES (?, ?, ?, ?, ?)",
        [
            [
                str(item.due.file.path),
                item.due.file.relative_path,
                seq,
                offset,
                item.due.scan.lines_after_header,
            ]
            for seq, (item, offset) in enumerate(zip(run, offsets, strict=True))
        ],
    )
    paths_sql = f"(SELECT path FROM {RUN_FILES})"
    reader = csv_source_sql([str(item.due.file.path) for item in run], names)
    source = (
        f"(SELECT m.path AS _path, s.source_row - m.row_offset AS source_row, "
        f"s.* EXCLUDE (source_row, filename) FROM {reader} s "
        f"JOIN {RUN_FILES} m ON m.filename = s.filename)"
    )
    reset_csv_rejects(con)
    try:
        checked = _check_part(
            con,
            ReadPart(folder, source, tuple(names)),
            "_path",
            spaces_only=all(item.due.scan.plain_whitespace for item in run),
        )
        rejected = load_csv_rejects(con)
    except (FileRejected, duckdb.Error):
        rejected = -1
    table = _checked(folder)
    balanced = (
        rejected == 0
        and _count(
            con,
            f"SELECT count(*) FROM {RUN_FILES} m LEFT JOIN (SELECT source_file, count(*) AS n, "
            f"max(source_row) AS last FROM {table} WHERE source_file IN {paths_sql} GROUP BY 1) c "
            "ON c.source_file = m.path WHERE coalesce(c.n, 0) <> m.lines OR c.last <> m.lines",
        )
        == 0
    )
    if not balanced:
        for item in run:
            _clear_pending_file(con, _lit(item.due.file.relative_path))
        return _unbalanced_files(con, table, paths_sql)
    _mark_run_duplicates(con, folder)
    failing = dict(
        con.execute(
            f"SELECT source_file, count(*) FROM {table} "
            f"WHERE source_file IN {paths_sql} AND rule_index IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    outcomes = []
    for item in run:
        file, due = item.due.file, item.due
        file_literal = _lit(file.relative_path)
        quarantined = 0
        if failing.get(file.relative_path):
            now_literal = f"TIMESTAMPTZ {_lit(due.now.isoformat())}"
            raw_table = f"_raw_{folder}"
            read_csv(con, file, raw_table, due.scan.lines_after_header)
            raw = _CheckedPart(ReadPart(folder, raw_table, item.names), 0, (), ())
            quarantined = _quarantine_part(con, raw, file_literal, now_literal).quarantined
        rows = due.scan.lines_after_header or 0
        notes = []
        if checked.extras:
            notes.append(f"extra columns kept aside: {', '.join(checked.extras)}")
        if checked.dropped:
            notes.append(
                f"extra columns dropped as possible identifiers: {', '.join(checked.dropped)}"
            )
        outcome = FileOutcome(
            file.relative_path,
            file.folder,
            "loaded",
            rows,
            rows - quarantined,
            quarantined,
            "; ".join(notes) or None,
        )
        outcomes.append(
            _record(con, batch, file, due.scan.sha256, due.first_seen, due.now, outcome)
        )
    return outcomes


def _unbalanced_files(con: duckdb.DuckDBPyConnection, table: str, paths_sql: str) -> set[str]:
    """Paths of a failed run with rejected records (all of them when that is unknown)."""
    try:
        rejected = con.execute(
            f"SELECT DISTINCT m.path FROM _csv_rejects r JOIN _csv_reject_scans s "
            f"USING (scan_id, file_id) JOIN {RUN_FILES} m ON m.filename = s.file_path"
        ).fetchall()
    except duckdb.Error:
        return {path for (path,) in con.execute(paths_sql[1:-1]).fetchall()}
    return {path for (path,) in rejected}


def _mark_run_duplicates(con: duckdb.DuckDBPyConnection, folder: str) -> None:
    """`_mark_duplicates` for every file of a run at once, the run's files in path order."""
    keys = UNIQUE_KEYS[folder]
    if not keys:
        return
    checked = _checked(folder)
    typed = {"line_number": "TRY_CAST({} AS INTEGER)"}

    def key_exprs(alias: str) -> str:
        return ", ".join(typed.get(k, "{}").format(f"{alias}.{k}") + f" AS {k}" for k in keys)

    names = ", ".join(keys)
    first = keys[0]
    run_paths = f"(SELECT path FROM {RUN_FILES})"
    con.execute(
        f"""UPDATE {checked} SET rule_index = 0
        WHERE (source_file, source_row) IN (
            WITH mine AS (
                SELECT c.source_file, c.source_row, m.seq, {key_exprs("c")}
                FROM {checked} c JOIN {RUN_FILES} m ON m.path = c.source_file
                WHERE c.rule_index IS NULL
            ),
            taken AS (
                SELECT {names} FROM {STAGED_TABLE[folder]}
                WHERE {first} IN (SELECT {first} FROM mine)
                  AND source_file NOT IN {run_paths}
                  AND source_file NOT IN (SELECT path FROM {BATCH_PATHS})
                UNION ALL
                SELECT {key_exprs("p")} FROM {checked} p
                WHERE p.source_file NOT IN {run_paths} AND p.rule_index IS NULL
                  AND p.{first} IN (SELECT {first} FROM mine)
            )
            SELECT (source_file, source_row) FROM (
                SELECT source_file, source_row, {names},
                       row_number() OVER (PARTITION BY {names} ORDER BY seq, source_row) AS rn
                FROM mine)
            WHERE rn > 1 OR ({names}) IN (SELECT ({names}) FROM taken))"""
    )


def _stage_run(
    con: duckdb.DuckDBPyConnection, run: list[_CsvDue], batch: _Batch
) -> list[FileOutcome]:
    """Stage a run of CSV files together, or one by one when that is not possible."""
    broken: set[str] = set()
    if len(run) > 1:
        outcomes = _stage_csv_run(con, run, batch)
        if isinstance(outcomes, list):
            return outcomes
        broken = outcomes
    return [
        _load_file(con, item.due, batch, careful=item.due.file.relative_path in broken)
        for item in run
    ]


def _stage_reversals(con: duckdb.DuckDBPyConnection, file_literal: str) -> _StagedPart:
    """Queue the 835 reversals `read_x12` left in `X12_REVERSALS`; they count as loaded rows."""
    loaded = _count(
        con,
        f"INSERT INTO {_pending(REVERSALS_TABLE)} SELECT claim_id, "
        "TRY_CAST(adjudication_date AS DATE), CAST(cancelled_in_file AS BOOLEAN), "
        f"{file_literal}, source_row FROM {X12_REVERSALS} WHERE claim_id IS NOT NULL",
    )
    return _StagedPart("remits", loaded, 0, (), ())


def _stage_csv_direct(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    scan: FileScan,
    file_literal: str,
    now_literal: str,
) -> list[_StagedPart] | None:
    """Fast path for a CSV whose every physical line is one record: read, normalise and check
    in one statement without materialising the raw text, which is read again only when rows
    fail (for their raw_record). None when the file needs the careful path of `read_csv`
    (records spanning lines, lost lines, a lone CR); its pending rows are then dropped.
    """
    if scan.lines_after_header is None:
        return None
    folder = file.folder
    names = csv_header(file)
    reset_csv_rejects(con)
    part = ReadPart(folder, csv_source_sql(file, names), tuple(names))
    checked = _check_part(con, part, file_literal, spaces_only=scan.plain_whitespace)
    rejected = load_csv_rejects(con)
    if checked.rows + rejected != scan.lines_after_header:
        _clear_pending_file(con, file_literal)
        return None
    if rejected:
        renumber_around_rejects(con, _checked(folder), file.relative_path)
    _mark_duplicates(con, folder, file_literal)
    if not _failing_rows(con, folder, file_literal):
        return [_StagedPart(folder, checked.rows, 0, checked.extras, checked.dropped)]
    raw_table = f"_raw_{folder}"
    read_csv(con, file, raw_table, scan.lines_after_header)
    raw = _CheckedPart(
        ReadPart(folder, raw_table, tuple(names)), checked.rows, checked.extras, checked.dropped
    )
    return [_quarantine_part(con, raw, file_literal, now_literal)]


def _ledger_row(
    file: LandingFile, sha: str, first_seen: datetime, now: datetime, outcome: FileOutcome
) -> list[object]:
    return [
        file.relative_path,
        file.folder,
        file.size_bytes,
        sha,
        first_seen,
        now,
        outcome.status,
        outcome.rows_read,
        outcome.rows_loaded,
        outcome.rows_quarantined,
        outcome.message,
    ]


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0


def _record(
    con: duckdb.DuckDBPyConnection,
    batch: _Batch,
    file: LandingFile,
    sha: str,
    first_seen: datetime,
    now: datetime,
    outcome: FileOutcome,
) -> FileOutcome:
    """Queue the ledger row of a file; its earlier rows are replaced when the batch commits."""
    batch.ledger.append(_ledger_row(file, sha, first_seen, now, outcome))
    batch.paths.append(file.relative_path)
    con.execute(f"INSERT INTO {BATCH_PATHS} VALUES (?)", [file.relative_path])
    if outcome.status == "loaded":
        batch.loaded_sha.setdefault(sha, file.relative_path)
    batch.rows += outcome.rows_read
    return outcome


@dataclass(frozen=True)
class _Due:
    """A file the ledger says must be (re)loaded."""

    file: LandingFile
    scan: FileScan
    first_seen: datetime
    now: datetime


def _triage(
    con: duckdb.DuckDBPyConnection, file: LandingFile, scan: FileScan, batch: _Batch
) -> _Due | FileOutcome:
    """Ledger decision: unchanged, skipped as a copy of a loaded file, or due for loading."""
    sha = scan.sha256
    now = datetime.now(UTC)
    prior = con.execute(
        "SELECT sha256, status, first_seen, message FROM ingest_ledger WHERE path = ?",
        [file.relative_path],
    ).fetchall()
    first_seen = prior[0][2] if prior else now
    if prior and prior[0][0] == sha:
        con.execute(
            "UPDATE ingest_ledger SET last_seen = ? WHERE path = ?", [now, file.relative_path]
        )
        status = "rejected" if prior[0][1] == "rejected" else "unchanged"
        return FileOutcome(file.relative_path, file.folder, status, message=prior[0][3])
    twin = batch.loaded_sha.get(sha)
    if twin is None:
        found = con.execute(
            "SELECT path FROM ingest_ledger WHERE sha256 = ? AND path <> ? AND status = 'loaded' "
            "AND path NOT IN (SELECT unnest(?::VARCHAR[])) ORDER BY first_seen LIMIT 1",
            [sha, file.relative_path, batch.paths],
        ).fetchall()
        twin = found[0][0] if found else None
    if twin:
        outcome = FileOutcome(
            file.relative_path,
            file.folder,
            "skipped_duplicate",
            message=f"same content as {twin}",
        )
        return _record(con, batch, file, sha, first_seen, now, outcome)
    return _Due(file, scan, first_seen, now)


def _stage_file(con: duckdb.DuckDBPyConnection, file: LandingFile, batch: _Batch) -> FileOutcome:
    """Stage one landing file into the batch (see the module docstring for the steps)."""
    due = _triage(con, file, scan_file(file.path), batch)
    return due if isinstance(due, FileOutcome) else _load_file(con, due, batch)


def _load_file(
    con: duckdb.DuckDBPyConnection, due: _Due, batch: _Batch, careful: bool = False
) -> FileOutcome:
    """Read, check and queue one due file; a FileRejected becomes a `rejected` ledger row.

    `careful`: the file is known to hold broken records, so the one-statement CSV path (which
    would read it again for their raw text) is skipped.
    """
    file, scan, first_seen, now = due.file, due.scan, due.first_seen, due.now
    sha = scan.sha256
    file_literal = _lit(file.relative_path)
    tables = {folder: f"_raw_{folder}" for folder in FOLDERS}
    now_literal = f"TIMESTAMPTZ {_lit(now.isoformat())}"
    fmt = detect_format(file)
    try:
        staged = None
        if fmt == "csv" and not careful:
            try:
                staged = _stage_csv_direct(con, file, scan, file_literal, now_literal)
            except duckdb.Error:
                # The careful path below reads the file again and says what is wrong with it.
                _clear_pending_file(con, file_literal)
        if staged is None:
            parts = read_file(con, file, fmt, tables, scan.lines_after_header)
            spaces_only = (
                fmt == "csv"
                and scan.plain_whitespace
                and _one_line_per_record(con, parts, scan.lines_after_header)
            )
            staged = _stage_parts(con, parts, file_literal, now_literal, spaces_only)
            if fmt == "x12" and file.folder == "remits":
                staged.append(_stage_reversals(con, file_literal))
    except FileRejected as rejection:
        _clear_pending_file(con, file_literal)
        outcome = FileOutcome(file.relative_path, file.folder, "rejected", message=str(rejection))
        return _record(con, batch, file, sha, first_seen, now, outcome)

    rows_read = sum(part.loaded + part.quarantined for part in staged)
    rows_read += _count(con, f"SELECT count(*) FROM {UNREADABLE}")
    redact = file.folder in PHI_FOLDERS
    unreadable = _count(
        con,
        f"INSERT INTO {_pending('quarantined_rows')} SELECT "
        f"{file_literal}, {_lit(file.folder)}, source_row, reason, column_name, "
        + (
            # The line could not be split, so its identifiers cannot be hashed: keep only its size.
            "'[withheld: ' || coalesce(length(raw_record), 0) || ' characters]'"
            if redact
            else "raw_record"
        )
        + f", {now_literal} FROM {UNREADABLE}",
    )
    loaded = sum(part.loaded for part in staged)
    quarantined = sum(part.quarantined for part in staged) + unreadable
    if loaded + quarantined != rows_read:
        raise RuntimeError(
            f"{file.relative_path}: {loaded} loaded + {quarantined} quarantined != {rows_read} read"
        )
    notes = []
    extras = sorted({c for part in staged for c in part.extras})
    dropped = sorted({c for part in staged for c in part.dropped})
    if extras:
        notes.append(f"extra columns kept aside: {', '.join(extras)}")
    if dropped:
        notes.append(f"extra columns dropped as possible identifiers: {', '.join(dropped)}")
    outcome = FileOutcome(
        file.relative_path,
        file.folder,
        "loaded",
        rows_read,
        loaded,
        quarantined,
        "; ".join(notes) or None,
    )
    return _record(con, batch, file, sha, first_seen, now, outcome)


def _one_line_per_record(
    con: duckdb.DuckDBPyConnection, parts: list[ReadPart], lines_after_header: int | None
) -> bool:
    """Whether records and physical lines pair one to one (then no value holds a CR or LF)."""
    records = sum(_count(con, f"SELECT count(*) FROM {p.table}") for p in parts)
    return records + _count(con, f"SELECT count(*) FROM {UNREADABLE}") == lines_after_header


def _clear_pending_file(con: duckdb.DuckDBPyConnection, file_literal: str) -> None:
    """Drop what a part of a file staged before a later part of it was rejected."""
    for folder in STAGED_TABLE:
        con.execute(f"DELETE FROM {_checked(folder)} WHERE source_file = {file_literal}")
    for table in ("quarantined_rows", REVERSALS_TABLE):
        con.execute(f"DELETE FROM {_pending(table)} WHERE source_file = {file_literal}")


def _run_header(due: _Due) -> tuple[str, ...] | None:
    """The header of a due CSV file that may join a run, else None (then it loads alone)."""
    if due.scan.lines_after_header is None or detect_format(due.file) != "csv":
        return None
    try:
        return tuple(csv_header(due.file))
    except FileRejected:
        return None


def ingest_file(con: duckdb.DuckDBPyConnection, file: LandingFile) -> FileOutcome:
    """Load one landing file idempotently, in its own transaction."""
    _create_pending_tables(con)
    batch = _Batch()
    outcome = _stage_file(con, file, batch)
    _flush(con, batch)
    return outcome


def ingest_folders(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    folders: tuple[str, ...],
    phi_key: bytes,
    log: logging.Logger | None = None,
) -> IngestSummary:
    """Load every file of the given landing sub-folders; a bad file never stops the others."""
    log = log or logger
    prepare_warehouse(con, phi_key)
    _create_pending_tables(con)
    batch = _Batch()
    outcomes: list[FileOutcome] = []
    run: list[_CsvDue] = []

    def stage_run() -> None:
        if run:
            outcomes.extend(_stage_run(con, run, batch))
            run.clear()
        if batch.rows >= FLUSH_ROWS:
            _flush(con, batch)

    for folder in folders:
        for file in discover(landing, folder):
            scan = scan_file(file.path)
            if any(item.due.scan.sha256 == scan.sha256 for item in run):
                # A copy of a queued file: the queued one must be staged to be its twin.
                stage_run()
            due = _triage(con, file, scan, batch)
            if isinstance(due, FileOutcome):
                outcomes.append(due)
                continue
            names = _run_header(due)
            if names is not None:
                if run and (
                    run[0].names != names
                    or run[0].due.file.folder != folder
                    or sum(item.due.scan.lines_after_header or 0 for item in run)
                    + (scan.lines_after_header or 0)
                    > FLUSH_ROWS
                ):
                    stage_run()
                run.append(_CsvDue(due, names))
                continue
            stage_run()
            outcomes.append(_load_file(con, due, batch))
            stage_run()
        stage_run()
    for outcome in outcomes:
        if outcome.status == "rejected":
            log.warning("%s rejected: %s", outcome.path, outcome.message)
        else:
            log.info(
                "%s %s: %d read, %d loaded, %d quarantined",
                outcome.path,
                outcome.status,
                outcome.rows_read,
                outcome.rows_loaded,
                outcome.rows_quarantined,
            )
    _flush(con, batch)
    table_rows = {
        STAGED_TABLE[f]: _count(con, f"SELECT count(*) FROM {STAGED_TABLE[f]}") for f in folders
    }
    return IngestSummary(folders, tuple(outcomes), table_rows)
