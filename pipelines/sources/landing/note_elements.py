"""Note text retention: documentation elements stored per note at load, then the text cleared.

The features read only the elements (`models/features/documentation.py`), so the note text is
kept only until they are stored, unless `DENIAL_RISK_KEEP_NOTE_TEXT=1` (docs/security.md). When
the element definitions change (`NOTE_ELEMENTS_VERSION`), notes whose text is still there are
recomputed; notes whose text was cleared have their landing file read again (the ledger forgets
its checksum), and a note that can be neither fails the run with its file named.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb

from data_contracts.warehouse_schema import NOTE_ELEMENT_COLUMNS
from models.features.documentation import NOTE_ELEMENTS_VERSION, note_elements

log = logging.getLogger(__name__)

# Ledger checksum of a notes file whose stored elements are outdated: never a real SHA-256, so
# the next ingest reads the file again.
STALE_ELEMENTS_SHA = "stale-note-elements"
_FRAME = "_note_elements_frame"


class NoteElementsError(RuntimeError):
    """Stored note elements are outdated and the note text to recompute them is gone."""


@dataclass(frozen=True)
class NoteElementSummary:
    """What one load did to the notes' elements and text."""

    computed: int
    text_cleared: int
    files_reread: tuple[str, ...]
    text_kept: bool


def _outdated(text: str) -> str:
    return f"elements_version IS DISTINCT FROM {NOTE_ELEMENTS_VERSION} AND text IS {text}"


def reread_outdated_files(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """Make the ledger read again the notes files whose elements are outdated and text gone."""
    paths = tuple(
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT source_file FROM staged_notes WHERE {_outdated('NULL')} ORDER BY 1"
        ).fetchall()
    )
    if paths:
        con.execute(
            "UPDATE ingest_ledger SET sha256 = ? WHERE path IN (SELECT unnest(?::VARCHAR[]))",
            [STALE_ELEMENTS_SHA, list(paths)],
        )
        log.warning(
            "%d notes files are read again: their stored documentation elements predate "
            "version %d and their text was not kept",
            len(paths),
            NOTE_ELEMENTS_VERSION,
        )
    return paths


def store_note_elements(
    con: duckdb.DuckDBPyConnection, keep_text: bool, reread: tuple[str, ...] = ()
) -> NoteElementSummary:
    """Compute and store the elements of notes that lack current ones, then clear the text.

    One transaction: a crash leaves the text and no elements, and the next load computes them.
    """
    pending = con.sql(
        f"SELECT source_file, source_row, text FROM staged_notes WHERE {_outdated('NOT NULL')}"
    ).pl()
    elements = note_elements(pending).drop("text") if pending.height else None
    names = list(NOTE_ELEMENT_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        if elements is not None:
            con.register(_FRAME, elements)
            assignments = ", ".join(f"{n} = f.{n}" for n in names)
            con.execute(
                f"UPDATE staged_notes SET {assignments}, elements_version = "
                f"{NOTE_ELEMENTS_VERSION} FROM {_FRAME} f WHERE staged_notes.source_file = "
                "f.source_file AND staged_notes.source_row = f.source_row"
            )
            con.unregister(_FRAME)
        cleared = 0
        if not keep_text:
            cleared = con.execute(
                "UPDATE staged_notes SET text = NULL WHERE text IS NOT NULL "
                f"AND elements_version = {NOTE_ELEMENTS_VERSION}"
            ).fetchall()[0][0]
        stale = con.execute(
            f"SELECT source_file, count(*) FROM staged_notes WHERE {_outdated('NULL')} "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if stale:
        files = ", ".join(f"{path} ({n} notes)" for path, n in stale)
        raise NoteElementsError(
            f"documentation elements of version {NOTE_ELEMENTS_VERSION} cannot be computed for "
            f"notes whose text was not kept and whose landing file could not be read again: "
            f"{files}. Put the files back in the landing folder (or remove them to withdraw "
            "their notes) and run again."
        )
    summary = NoteElementSummary(pending.height, int(cleared), reread, keep_text)
    log.info(
        "note elements: %d notes computed, %d note texts cleared%s",
        summary.computed,
        summary.text_cleared,
        " (text kept: DENIAL_RISK_KEEP_NOTE_TEXT)" if keep_text else "",
    )
    return summary
