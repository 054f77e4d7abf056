"""Landing `acknowledgements/` (277CA files) → `claim_acknowledgements`, through the same ledger.

Per file, as for the other folders (`staging.py`): hash it, skip it when the ledger already has
that content (or a copy of it is loaded), read it with the X12 277CA reader, check its rows, and
queue rows, quarantine and ledger entry; the batch reaches the warehouse in ONE transaction that
first deletes whatever the batch's paths loaded before, so a changed file replaces its rows and a
file that left the folder (withdrawn) takes them out. Every STC read is loaded or quarantined
with one reason; raw X12 is redacted segment by segment (`x12.redact_x12_text`) before it is
kept. A file holding no X12 or no 277 transaction is rejected whole, not "loaded".

Then, as for unmatched remits (`outcomes.match_remit_lines`), acknowledgements whose claim is
not (yet) in `staged_claim_lines` are set aside in `held_claim_acknowledgements`, quarantined as
`unmatched_claim`, and matched again on every run, so a claim file arriving later brings them
back. `mark_front_end_rejections` applies them to `line_outcomes` (data_contracts/label.py).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from data_contracts.label import REJECTED_FRONT_END
from data_contracts.row_rules import IDENTIFIER_PATTERN, MAX_IDENTIFIER_LENGTH
from pipelines.settings import ProductSettings
from pipelines.sources.landing.files import LandingFile, discover, scan_file
from pipelines.sources.landing.ledger import (
    WITHDRAWN,
    Batch,
    FileOutcome,
    IngestSummary,
    ledger_row,
    prepare_warehouse,
    triage,
    withdraw_missing,
)
from pipelines.sources.landing.row_checks import BATCH_PATHS, create_pending_tables
from pipelines.sources.privacy import PADS_TABLE, load_phi_key
from pipelines.sources.x12.acknowledgements import (
    ACKNOWLEDGEMENT_COLUMNS,
    read_x12_acknowledgements,
)
from pipelines.sources.x12.redact import redact_x12_text
from pipelines.sources.x12.segments import looks_like_x12

logger = logging.getLogger(__name__)

FOLDER = "acknowledgements"
TABLE = "claim_acknowledgements"
HELD_TABLE = "held_claim_acknowledgements"
UNMATCHED_CLAIM = "unmatched_claim"

# The reader's columns, then where each row came from (source_file, source_row).
_ROW_COLUMNS = (
    *(c for c in ACKNOWLEDGEMENT_COLUMNS if c != "source_row"),
    "source_file",
    "source_row",
)
_QUARANTINE_SCHEMA = {
    "source_file": pl.String,
    "folder": pl.String,
    "source_row": pl.Int64,
    "reason": pl.String,
    "column_name": pl.String,
    "raw_record": pl.String,
}


@dataclass(frozen=True)
class AcknowledgementSummary:
    """Files and rows of one run, and the acknowledgement tables after matching."""

    ingest: IngestSummary
    acknowledgements: int
    held: int
    claims_rejected: int
    claims_accepted: int

    def metadata(self) -> dict[str, int | str]:
        return {
            **self.ingest.metadata(),
            "claim_acknowledgements_rows": self.acknowledgements,
            "held_claim_acknowledgements_rows": self.held,
            # As staged_remits reports its held rows (the CLI summary and exit code read these).
            "rows_set_aside": self.held,
            "set_aside": f"acknowledgements_{UNMATCHED_CLAIM} {self.held}" if self.held else "",
            "claims_rejected_front_end": self.claims_rejected,
            "claims_accepted": self.claims_accepted,
        }


def _patient_hasher(con: duckdb.DuckDBPyConnection) -> Callable[[str], str]:
    """The keyed hash of `patient_key_sql`, from the pads `prepare_warehouse` left on `con`."""
    ipad, opad = con.execute(f"SELECT ipad, opad FROM {PADS_TABLE}").fetchall()[0]
    return lambda value: hashlib.sha256(
        bytes(opad) + hashlib.sha256(bytes(ipad) + value.encode()).digest()
    ).hexdigest()


class _Rejected(Exception):
    """The whole file cannot be used."""


def _checked_rows(frame: pl.DataFrame, source_file: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed rows that pass, and the failing ones as quarantine rows (first failing rule)."""
    identifier = f"^{IDENTIFIER_PATTERN}$"
    effective = pl.col("effective_date").str.to_date("%Y-%m-%d", strict=False)
    charge = pl.col("charge_amount").cast(pl.Float64, strict=False)
    reason = (
        pl.when(
            (pl.col("claim_id").str.len_chars() > MAX_IDENTIFIER_LENGTH)
            | ~pl.col("claim_id").str.contains(identifier)
        )
        .then(pl.lit("bad_identifier|claim_id"))
        .when(pl.col("effective_date").is_null())
        .then(pl.lit("missing_required|effective_date"))
        .when(effective.is_null())
        .then(pl.lit("bad_date|effective_date"))
        .when(pl.col("charge_amount").is_not_null() & charge.is_null())
        .then(pl.lit("bad_type|charge_amount"))
        .when(charge.abs() > 100_000)
        .then(pl.lit("bad_value|charge_amount"))
    )
    checked = frame.with_columns(reason.alias("_reason"))
    good = (
        checked.filter(pl.col("_reason").is_null())
        .with_columns(
            pl.col("line_number").cast(pl.Int32),
            effective.alias("effective_date"),
            pl.col("service_date").str.to_date("%Y-%m-%d", strict=False),
            pl.col("charge_amount").cast(pl.Decimal(12, 2)),
            pl.lit(source_file).alias("source_file"),
        )
        .select(_ROW_COLUMNS)
    )
    bad = checked.filter(pl.col("_reason").is_not_null())
    quarantine = pl.DataFrame(
        {
            "source_file": [source_file] * bad.height,
            "folder": [FOLDER] * bad.height,
            "source_row": bad["source_row"].to_list(),
            "reason": [r.split("|")[0] for r in bad["_reason"].to_list()],
            "column_name": [r.split("|")[1] for r in bad["_reason"].to_list()],
            # The STC row as read: claim id, codes and dates, no patient identifier.
            "raw_record": [str(row) for row in bad.drop("_reason").iter_rows(named=True)],
        },
        schema=_QUARANTINE_SCHEMA,
    )
    return good, quarantine


def _read(
    file: LandingFile, hash_id: Callable[[str], str]
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Loadable rows, quarantine rows, rows read; `_Rejected` when the file is unusable."""
    if not looks_like_x12(file.path):
        raise _Rejected("not an X12 interchange (a 277CA file starts with ISA)")
    try:
        batch = read_x12_acknowledgements(file.path)
    except Exception as error:
        raise _Rejected(f"unreadable X12 file ({type(error).__name__})") from error
    if batch.transactions == 0:
        raise _Rejected("no 277 transaction in the file (005010X214 claim acknowledgements)")
    if batch.acknowledgements.height == 0 and batch.rejected.height == 0:
        raise _Rejected("no claim in the file (no patient level HL*PT with TRN and STC)")
    good, quarantine = _checked_rows(batch.acknowledgements, file.relative_path)
    rejected = batch.rejected.with_columns(
        pl.lit(file.relative_path).alias("source_file"),
        pl.lit(FOLDER).alias("folder"),
        pl.col("raw_record").map_elements(
            lambda text: redact_x12_text(text, hash_id), return_dtype=pl.String
        ),
    ).select(list(_QUARANTINE_SCHEMA))
    rows_read = batch.acknowledgements.height + batch.rejected.height
    return good, pl.concat([quarantine, rejected.cast(_QUARANTINE_SCHEMA)]), rows_read


def _flush(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    rows: list[pl.DataFrame],
    quarantine: list[pl.DataFrame],
    now: datetime,
) -> None:
    """One transaction: earlier rows of the batch's paths go; new rows, quarantine, ledger land."""
    if not batch.ledger:
        return
    loaded = pl.concat(rows) if rows else None
    held_back = pl.concat(quarantine) if quarantine else None
    con.execute("BEGIN TRANSACTION")
    try:
        for table in (TABLE, HELD_TABLE, "quarantined_rows"):
            con.execute(
                f"DELETE FROM {table} WHERE source_file IN (SELECT path FROM {BATCH_PATHS})"
            )
        if loaded is not None and loaded.height:
            con.register("_ack_rows", loaded.to_arrow())
            con.execute(f"INSERT INTO {TABLE} ({', '.join(_ROW_COLUMNS)}) SELECT * FROM _ack_rows")
            con.unregister("_ack_rows")
        if held_back is not None and held_back.height:
            con.register("_ack_quarantine", held_back.to_arrow())
            con.execute(
                "INSERT INTO quarantined_rows SELECT source_file, folder, source_row, reason, "
                "column_name, raw_record, ? FROM _ack_quarantine",
                [now],
            )
            con.unregister("_ack_quarantine")
        con.executemany(
            "INSERT OR REPLACE INTO ingest_ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            batch.ledger,
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute(f"DELETE FROM {BATCH_PATHS}")


def _queue(
    con: duckdb.DuckDBPyConnection,
    batch: Batch,
    file: LandingFile,
    sha: str,
    first_seen: datetime,
    now: datetime,
    outcome: FileOutcome,
) -> FileOutcome:
    batch.ledger.append(ledger_row(file, sha, first_seen, now, outcome))
    batch.paths.append(file.relative_path)
    con.execute(f"INSERT INTO {BATCH_PATHS} VALUES (?)", [file.relative_path])
    if outcome.status == "loaded":
        batch.loaded_sha.setdefault(sha, file.relative_path)
    return outcome


def match_acknowledgements(con: duckdb.DuckDBPyConnection) -> int:
    """Put held acknowledgements back, set aside those naming no loaded claim; returns held rows."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"INSERT INTO {TABLE} SELECT * FROM {HELD_TABLE}")
        con.execute(f"DELETE FROM {HELD_TABLE}")
        con.execute(
            f"DELETE FROM quarantined_rows WHERE folder = '{FOLDER}' AND reason = '{UNMATCHED_CLAIM}'"
        )
        # A line-level STC naming no line of a loaded claim stays: it applies to no line.
        unmatched = "claim_id NOT IN (SELECT DISTINCT claim_id FROM staged_claim_lines)"
        con.execute(
            f"INSERT INTO quarantined_rows SELECT source_file, '{FOLDER}', source_row, "
            f"'{UNMATCHED_CLAIM}', 'claim_id', CAST(to_json(a) AS VARCHAR), now() "
            f"FROM {TABLE} a WHERE {unmatched}"
        )
        con.execute(f"INSERT INTO {HELD_TABLE} SELECT * FROM {TABLE} WHERE {unmatched}")
        con.execute(f"DELETE FROM {TABLE} WHERE {unmatched}")
        # The ledger's counts follow: a set-aside row is quarantined, no longer loaded.
        con.execute(
            "UPDATE ingest_ledger AS l SET rows_quarantined = q.n, rows_loaded = l.rows_read - q.n "
            "FROM (SELECT l2.path, (SELECT count(*) FROM quarantined_rows q "
            "      WHERE q.source_file = l2.path) AS n FROM ingest_ledger l2 "
            f"      WHERE l2.status = 'loaded' AND l2.folder = '{FOLDER}') q "
            "WHERE l.path = q.path"
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(con.execute(f"SELECT count(*) FROM {HELD_TABLE}").fetchall()[0][0])


def ingest_acknowledgements(
    con: duckdb.DuckDBPyConnection, settings: ProductSettings, log: logging.Logger | None = None
) -> AcknowledgementSummary:
    """Load `acknowledgements/` into `claim_acknowledgements` and match them to loaded claims."""
    log = log or logger
    prepare_warehouse(con, load_phi_key(settings.phi_key_file))
    create_pending_tables(con)
    con.execute(f"DELETE FROM {BATCH_PATHS}")
    hash_id = _patient_hasher(con)
    batch = Batch()
    rows: list[pl.DataFrame] = []
    quarantine: list[pl.DataFrame] = []
    outcomes: list[FileOutcome] = []
    present: set[str] = set()
    now = datetime.now(UTC)
    for file in discover(settings.landing, FOLDER):
        present.add(file.relative_path)
        due = triage(con, file, scan_file(file.path), batch)
        if isinstance(due, FileOutcome):
            outcomes.append(due)
            continue
        try:
            good, bad, read = _read(file, hash_id)
        except _Rejected as rejection:
            message = str(rejection)
            quarantine.append(
                pl.DataFrame(
                    [[file.relative_path, FOLDER, None, "rejected_file", None, message]],
                    schema=_QUARANTINE_SCHEMA,
                    orient="row",
                )
            )
            # As for other X12 files rejected whole, its segments count as read and quarantined.
            segments = file.path.read_bytes().count(b"~")
            outcome = FileOutcome(
                file.relative_path, FOLDER, "rejected", segments, 0, segments, message=message
            )
        else:
            rows.append(good)
            quarantine.append(bad)
            outcome = FileOutcome(
                file.relative_path, FOLDER, "loaded", read, good.height, bad.height
            )
        outcomes.append(_queue(con, batch, file, due.scan.sha256, due.first_seen, due.now, outcome))
    outcomes.extend(withdraw_missing(con, batch, (FOLDER,), present))
    _flush(con, batch, rows, quarantine, now)
    held = match_acknowledgements(con)
    for outcome in outcomes:
        if outcome.status in ("rejected", WITHDRAWN):
            log.warning("%s %s: %s", outcome.path, outcome.status, outcome.message)
        else:
            log.info(
                "%s %s: %d read, %d loaded, %d quarantined",
                outcome.path,
                outcome.status,
                outcome.rows_read,
                outcome.rows_loaded,
                outcome.rows_quarantined,
            )
    total, rejected, accepted = con.execute(
        f"SELECT count(*), count(DISTINCT claim_id) FILTER (WHERE outcome = 'rejected'), "
        f"count(DISTINCT claim_id) FILTER (WHERE outcome = 'accepted') FROM {TABLE}"
    ).fetchall()[0]
    return AcknowledgementSummary(
        IngestSummary((FOLDER,), tuple(outcomes), {TABLE: int(total)}),
        acknowledgements=int(total),
        held=held,
        claims_rejected=int(rejected),
        claims_accepted=int(accepted),
    )


# The label (data_contracts/label.py): a line without a remit whose latest acknowledgement dated
# on or after its submission date rejects it (claim level, or a line-level STC naming the line;
# a rejection wins a same-day tie with an acceptance: the clearinghouse may accept what the payer
# then rejects) was stopped at the front end. An acknowledgement dated before the submission
# date answered an earlier submission: the claim was corrected and resubmitted, so it is pending.
FRONT_END_REJECTIONS_UPDATE = f"""
UPDATE line_outcomes AS o SET status = '{REJECTED_FRONT_END}', denied = NULL
FROM (
    SELECT c.claim_id, c.line_number
    FROM staged_claim_lines c
    JOIN {TABLE} a
      ON a.claim_id = c.claim_id
     AND (a.level = 'claim' OR a.line_number = c.line_number)
     AND a.effective_date >= c.submission_date
    QUALIFY row_number() OVER (
        PARTITION BY c.claim_id, c.line_number
        ORDER BY a.effective_date DESC, a.outcome = 'rejected' DESC, a.source_file DESC,
                 a.source_row DESC) = 1
        AND a.outcome = 'rejected'
) AS r
WHERE o.claim_id = r.claim_id AND o.line_number = r.line_number AND o.status = 'pending'
"""


def mark_front_end_rejections(con: duckdb.DuckDBPyConnection) -> None:
    """Give pending lines whose current submission was rejected at the front end their status."""
    con.execute(FRONT_END_REJECTIONS_UPDATE)
