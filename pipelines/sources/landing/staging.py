"""Load landing files into the staged tables: the per-file steps and the ingest entry points.

The parts live beside it: `ledger.py` (file ledger, batches, one transaction per batch),
`row_checks.py` (normalise, row rules, duplicates, quarantine), `csv_runs.py` (CSV files read
straight from DuckDB's reader, alone or in runs with one header).

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
normalised and checked in ONE statement straight from DuckDB's reader (`stage_csv_run`), when
every physical line is a record; anything unusual (a rejected record, records spanning lines,
a lone CR) sends the files one by one through the careful path (`_load_file`), which
materialises the raw text, recounts lines and re-parses line by line when DuckDB lost lines.
The raw text of a file is read again only when some of its rows fail, for their `raw_record`.

Duplicate keys (claims: claim_id + line_number; notes: note_id): the row loaded first wins.
Files are processed in path order, rows in file order; a later row with a key already loaded
from another file, or seen earlier in the same file, is quarantined as `duplicate_key`. When the
file holding the winning row changes, rows quarantined earlier in other files are not revived
(re-drop those files to load them).
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from data_contracts.input_contract import FOLDERS
from data_contracts.warehouse_schema import STAGED_TABLE
from pipelines.sources.landing.csv_runs import CsvDue, run_header, stage_csv_direct, stage_csv_run
from pipelines.sources.landing.files import LandingFile, detect_format, discover, scan_file
from pipelines.sources.landing.ledger import (
    WITHDRAWN,
    Batch,
    Due,
    FileOutcome,
    IngestSummary,
    flush,
    prepare_warehouse,
    record,
    triage,
    withdraw_missing,
)
from pipelines.sources.landing.readers import (
    UNREADABLE,
    X12_REVERSALS,
    FileRejected,
    ReadPart,
    read_file,
)
from pipelines.sources.landing.row_checks import (
    CARRIED_COLUMNS,
    PHI_FOLDERS,
    REVERSALS_TABLE,
    StagedPart,
    clear_pending_file,
    columns_message,
    count_rows,
    create_pending_tables,
    pending_table,
    raw_record_sql,
    sql_literal,
    stage_parts,
    typed_select,
)

__all__ = [
    "CARRIED_COLUMNS",
    "FileOutcome",
    "IngestSummary",
    "ingest_file",
    "ingest_folders",
    "prepare_warehouse",
    "raw_record_sql",
    "typed_select",
]

logger = logging.getLogger(__name__)
# Earlier private names, kept for callers that imported them from this module.
_typed_select = typed_select
_raw_record_sql = raw_record_sql

# Staged rows wait in temp tables and reach the warehouse in one transaction per batch of about
# this many rows read: measured on 1M claim lines, one commit per file (27 files) cost 4.4 s
# against 2.2 s for one transaction (DuckDB writes whole row groups instead of a WAL per file);
# a crash loses at most one batch, never half a file.
FLUSH_ROWS = 1_000_000


def _stage_run(
    con: duckdb.DuckDBPyConnection, run: list[CsvDue], batch: Batch
) -> list[FileOutcome]:
    """Stage a run of CSV files together, or one by one when that is not possible."""
    broken: set[str] = set()
    if len(run) > 1:
        outcomes = stage_csv_run(con, run, batch)
        if isinstance(outcomes, list):
            return outcomes
        broken = outcomes
    return [
        _load_file(con, item.due, batch, careful=item.due.file.relative_path in broken)
        for item in run
    ]


def _stage_reversals(con: duckdb.DuckDBPyConnection, file_literal: str) -> StagedPart:
    """Queue the 835 reversals `read_x12` left in `X12_REVERSALS`; they count as loaded rows."""
    loaded = count_rows(
        con,
        f"INSERT INTO {pending_table(REVERSALS_TABLE)} SELECT claim_id, "
        "TRY_CAST(adjudication_date AS DATE), CAST(cancelled_in_file AS BOOLEAN), "
        f"{file_literal}, source_row FROM {X12_REVERSALS} WHERE claim_id IS NOT NULL",
    )
    return StagedPart("remits", loaded, 0, (), ())


def _stage_file(con: duckdb.DuckDBPyConnection, file: LandingFile, batch: Batch) -> FileOutcome:
    """Stage one landing file into the batch (see the module docstring for the steps)."""
    due = triage(con, file, scan_file(file.path), batch)
    return due if isinstance(due, FileOutcome) else _load_file(con, due, batch)


def _load_file(
    con: duckdb.DuckDBPyConnection, due: Due, batch: Batch, careful: bool = False
) -> FileOutcome:
    """Read, check and queue one due file; a FileRejected becomes a `rejected` ledger row.

    `careful`: the file is known to hold broken records, so the one-statement CSV path (which
    would read it again for their raw text) is skipped.
    """
    file, scan, first_seen, now = due.file, due.scan, due.first_seen, due.now
    sha = scan.sha256
    file_literal = sql_literal(file.relative_path)
    tables = {folder: f"_raw_{folder}" for folder in FOLDERS}
    now_literal = f"TIMESTAMPTZ {sql_literal(now.isoformat())}"
    fmt = detect_format(file)
    try:
        staged = None
        if fmt == "csv" and not careful:
            try:
                staged = stage_csv_direct(con, file, scan, file_literal, now_literal)
            except duckdb.Error:
                # The careful path below reads the file again and says what is wrong with it.
                clear_pending_file(con, file_literal)
        if staged is None:
            parts = read_file(con, file, fmt, tables, scan.lines_after_header)
            spaces_only = (
                fmt == "csv"
                and scan.plain_whitespace
                and _one_line_per_record(con, parts, scan.lines_after_header)
            )
            staged = stage_parts(con, parts, file_literal, now_literal, spaces_only)
            if fmt == "x12" and file.folder == "remits":
                staged.append(_stage_reversals(con, file_literal))
    except FileRejected as rejection:
        return _reject_file(con, due, batch, fmt, str(rejection))

    rows_read = sum(part.loaded + part.quarantined for part in staged)
    rows_read += count_rows(con, f"SELECT count(*) FROM {UNREADABLE}")
    if rows_read == 0:
        # A header and nothing else (or a Parquet file of no row) is not a load: an export that
        # failed half-way looks like this (issue 21).
        return _reject_file(con, due, batch, fmt, NO_ROWS)
    # X12 raw text was redacted segment by segment by the reader (`x12.redact_x12_text`).
    redact = file.folder in PHI_FOLDERS and fmt != "x12"
    unreadable = count_rows(
        con,
        f"INSERT INTO {pending_table('quarantined_rows')} SELECT "
        f"{file_literal}, {sql_literal(file.folder)}, source_row, reason, column_name, "
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
    extras = sorted({c for part in staged for c in part.extras})
    dropped = sorted({c for part in staged for c in part.dropped})
    outcome = FileOutcome(
        file.relative_path,
        file.folder,
        "loaded",
        rows_read,
        loaded,
        quarantined,
        columns_message(extras, dropped),
    )
    return record(con, batch, file, sha, first_seen, now, outcome)


NO_ROWS = "no rows: the file holds a header (or a schema) only"


def _reject_file(
    con: duckdb.DuckDBPyConnection, due: Due, batch: Batch, fmt: str, message: str
) -> FileOutcome:
    """Set a whole file aside as `rejected`: its records count as read and quarantined."""
    file = due.file
    file_literal = sql_literal(file.relative_path)
    now_literal = f"TIMESTAMPTZ {sql_literal(due.now.isoformat())}"
    clear_pending_file(con, file_literal)
    rows = _records_in_rejected_file(con, file, fmt, due.scan.lines_after_header)
    # One file-level entry: quarantined_rows shows the file beside the rows of other files.
    con.execute(
        f"INSERT INTO {pending_table('quarantined_rows')} VALUES "
        f"({file_literal}, {sql_literal(file.folder)}, NULL, 'rejected_file', NULL, "
        f"{sql_literal(message)}, {now_literal})"
    )
    outcome = FileOutcome(
        file.relative_path, file.folder, "rejected", rows, 0, rows, message=message
    )
    return record(con, batch, file, due.scan.sha256, due.first_seen, due.now, outcome)


def _records_in_rejected_file(
    con: duckdb.DuckDBPyConnection, file: LandingFile, fmt: str, lines_after_header: int | None
) -> int:
    """Records of a file rejected whole: data lines (CSV, JSON Lines), rows, or X12 segments."""
    if fmt == "parquet":
        try:
            return count_rows(
                con, f"SELECT count(*) FROM read_parquet({sql_literal(str(file.path))})"
            )
        except duckdb.Error:
            return 0
    if fmt == "x12":
        with file.path.open("rb") as handle:
            return sum(chunk.count(b"~") for chunk in iter(lambda: handle.read(1 << 20), b""))
    lines = lines_after_header or 0
    if fmt == "jsonl" and file.size_bytes:
        return lines + 1  # JSON Lines have no header line
    return lines


def _one_line_per_record(
    con: duckdb.DuckDBPyConnection, parts: list[ReadPart], lines_after_header: int | None
) -> bool:
    """Whether records and physical lines pair one to one (then no value holds a CR or LF)."""
    records = sum(count_rows(con, f"SELECT count(*) FROM {p.table}") for p in parts)
    return records + count_rows(con, f"SELECT count(*) FROM {UNREADABLE}") == lines_after_header


def ingest_file(con: duckdb.DuckDBPyConnection, file: LandingFile) -> FileOutcome:
    """Load one landing file idempotently, in its own transaction."""
    create_pending_tables(con)
    batch = Batch()
    outcome = _stage_file(con, file, batch)
    flush(con, batch)
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
    create_pending_tables(con)
    batch = Batch()
    outcomes: list[FileOutcome] = []
    run: list[CsvDue] = []

    def stage_run() -> None:
        if run:
            outcomes.extend(_stage_run(con, run, batch))
            run.clear()
        if batch.rows >= FLUSH_ROWS:
            flush(con, batch)

    found = {folder: discover(landing, folder) for folder in folders}
    present = {file.relative_path for files in found.values() for file in files}
    # Withdrawn files go first, in their own commit: a corrected file under another name must not
    # meet the rows of the file it replaces as duplicate keys.
    outcomes.extend(withdraw_missing(con, batch, folders, present))
    flush(con, batch)
    for folder in folders:
        for file in found[folder]:
            scan = scan_file(file.path)
            if any(item.due.scan.sha256 == scan.sha256 for item in run):
                # A copy of a queued file: the queued one must be staged to be its twin.
                stage_run()
            due = triage(con, file, scan, batch)
            if isinstance(due, FileOutcome):
                outcomes.append(due)
                continue
            names = run_header(due)
            if names is not None:
                if run and (
                    run[0].names != names
                    or run[0].due.file.folder != folder
                    or sum(item.due.scan.lines_after_header or 0 for item in run)
                    + (scan.lines_after_header or 0)
                    > FLUSH_ROWS
                ):
                    stage_run()
                run.append(CsvDue(due, names))
                continue
            stage_run()
            outcomes.append(_load_file(con, due, batch))
            stage_run()
        stage_run()
    for outcome in outcomes:
        if outcome.status in ("rejected", WITHDRAWN):
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
    flush(con, batch)
    table_rows = {
        STAGED_TABLE[f]: count_rows(con, f"SELECT count(*) FROM {STAGED_TABLE[f]}") for f in folders
    }
    return IngestSummary(folders, tuple(outcomes), table_rows)
