"""Pre-submission files: read a folder of unsent claims with ingestion's readers, write the result.

Shared by `denial-risk score` and the Dagster `outgoing/` sensor's asset. Output, in `out`:
`presubmission_<UTC>.csv` (the export contract's columns plus `edit_codes` and `edit_messages`,
sorted by expected loss), `presubmission_<UTC>.rejected.csv` (file, row, field, reason, value of
every row that failed a row rule) and `presubmission_<UTC>.manifest.json`, each written atomically
and the manifest last, so a manifest's presence means both CSVs are complete.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import polars as pl

from data_contracts.input_contract import required_columns
from models.export import EXPORT_COLUMNS, csv_cells, csv_safe, export_frame, write_atomic
from models.presubmission import PresubmissionResult, ScoringContext, score_unsent
from pipelines.sources.landing.files import LandingFile, detect_format, discover
from pipelines.sources.landing.readers import UNREADABLE, FileRejected, read_file

REQUEST_FOLDERS = ("claims", "notes")
OUTPUT_COLUMNS = (*EXPORT_COLUMNS, "edit_codes", "edit_messages")
REJECTED_COLUMNS = (
    "source_file",
    "source_row",
    "claim_id",
    "line_number",
    "field",
    "reason",
    "value",
)
HIGH_BAND = "high"
_ORIGIN_SCHEMA = {"source_row": pl.Int64, "source_file": pl.String, "file_row": pl.Int64}


class RequestFolderError(ValueError):
    """The input folder cannot be scored (no claims, a file unreadable or missing a column)."""


@dataclass(frozen=True)
class RequestRows:
    """The rows of a request folder as contract text, numbered across files, and where from."""

    claims: pl.DataFrame
    notes: pl.DataFrame
    origins: pl.DataFrame
    unreadable: pl.DataFrame
    files: tuple[str, ...]


@dataclass(frozen=True)
class PresubmissionFiles:
    """What a scoring of a folder wrote and found."""

    path: Path
    rejected_path: Path
    manifest_path: Path
    result: PresubmissionResult
    rejected_rows: int
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def high_band(self) -> int:
        return self.result.lines.filter(pl.col("risk_band") == HIGH_BAND).height

    def top_edits(self, n: int = 5) -> list[tuple[str, int]]:
        """The most frequent failed edit codes over scored and context lines."""
        counts: Counter[str] = Counter()
        for frame in (self.result.lines, self.result.context_lines):
            for edits in frame.get_column("edits").to_list():
                counts.update(e["code"] for e in edits or [] if e["status"] == "failed")
        return counts.most_common(n)


def _read_one(file: LandingFile) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One file's rows as text (lower-case contract names) and its unreadable records."""
    with duckdb.connect(":memory:") as con:
        try:
            parts = read_file(con, file, detect_format(file), {file.folder: "_request_part"})
        except FileRejected as error:
            raise RequestFolderError(f"{file.relative_path}: {error}") from error
        frames = [con.sql(f"SELECT * FROM {part.table}").pl() for part in parts]
        try:
            unreadable = con.sql(f"SELECT source_row, reason, column_name FROM {UNREADABLE}").pl()
        except duckdb.Error:
            unreadable = pl.DataFrame(
                schema={"source_row": pl.Int64, "reason": pl.String, "column_name": pl.String}
            )
    rows = pl.concat(frames, how="diagonal") if frames else pl.DataFrame()
    rows = rows.rename({c: c.lower() for c in rows.columns if c != c.lower()})
    missing = [c for c in required_columns(file.folder) if c not in rows.columns]
    if rows.height and missing:
        raise RequestFolderError(
            f"{file.relative_path}: missing required column(s): {', '.join(missing)}"
        )
    return rows, unreadable


def read_request_folder(folder: Path, only: Path | None = None) -> RequestRows:
    """`claims/` and optional `notes/` of a folder (CSV, Parquet, JSON Lines or 837P).

    `only`: score just this claims file (with every notes file), as the outgoing sensor does.
    Rows are numbered 1..n across all files, claims first (`source_row`); `origins` maps them
    back to file and row in the file.
    """
    claim_files = discover(folder, "claims")
    if only is not None:
        claim_files = [f for f in claim_files if f.path.resolve() == only.resolve()]
    if not claim_files:
        raise RequestFolderError(f"no claim files in {folder / 'claims'}")
    frames: dict[str, pl.DataFrame] = {}
    origin_parts, unreadable_rows, files, offset = [], [], [], 0
    for folder_name, found in (("claims", claim_files), ("notes", discover(folder, "notes"))):
        parts = []
        for file in found:
            rows, unreadable = _read_one(file)
            files.append(file.relative_path)
            unreadable_rows.append(
                unreadable.with_columns(pl.lit(file.relative_path).alias("source_file"))
            )
            if not rows.height:
                continue
            numbered = rows.with_columns(
                pl.col("source_row").cast(pl.Int64).alias("file_row"),
                (pl.int_range(1, rows.height + 1, dtype=pl.Int64) + offset).alias("source_row"),
            )
            offset += rows.height
            origin_parts.append(
                numbered.select(
                    "source_row", pl.lit(file.relative_path).alias("source_file"), "file_row"
                )
            )
            parts.append(numbered.drop("file_row"))
        frames[folder_name] = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
    origins = pl.concat(origin_parts) if origin_parts else pl.DataFrame(schema=_ORIGIN_SCHEMA)
    unreadable = pl.concat(unreadable_rows, how="diagonal_relaxed")
    return RequestRows(frames["claims"], frames["notes"], origins, unreadable, tuple(files))


def rejected_rows(request: RequestRows, result: PresubmissionResult) -> pl.DataFrame:
    """Every rejected row with its file and row in that file (unreadable records included)."""
    checked = result.rejected.join(request.origins, on="source_row", how="left").select(
        "source_file",
        pl.col("file_row").alias("source_row"),
        "claim_id",
        "line_number",
        "field",
        "reason",
        "value",
    )
    unreadable = request.unreadable.select(
        "source_file",
        pl.col("source_row").cast(pl.Int64),
        pl.lit(None, dtype=pl.String).alias("claim_id"),
        pl.lit(None, dtype=pl.String).alias("line_number"),
        pl.col("column_name").alias("field"),
        "reason",
        pl.lit(None, dtype=pl.String).alias("value"),
    )
    return pl.concat([checked, unreadable], how="diagonal_relaxed").select(REJECTED_COLUMNS)


def output_frame(result: PresubmissionResult) -> pl.DataFrame:
    """The export contract's columns (formatted as the daily export) plus the failed edits."""
    lines = result.lines
    exported = export_frame(lines)
    edits = lines.select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        "edit_codes",
        "edit_messages",
    )
    return exported.join(edits, on=["claim_id", "line_number"], how="left", maintain_order="left")


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer)
    return buffer.getvalue()


def output_name(now: datetime) -> str:
    """`presubmission_<YYYYmmddTHHMMSSZ>` for a UTC time."""
    return f"presubmission_{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def write_presubmission(
    request: RequestRows, result: PresubmissionResult, out: Path, source: str
) -> PresubmissionFiles:
    """Both CSVs atomically, then the manifest atomically (its presence means they are complete)."""
    out.mkdir(parents=True, exist_ok=True)
    stem, bump = output_name(result.scored_at), 0
    while (out / f"{stem}.csv").exists() or (out / f"{stem}.manifest.json").exists():
        bump += 1
        stem = f"{output_name(result.scored_at)}-{bump}"
    path, rejected_path = out / f"{stem}.csv", out / f"{stem}.rejected.csv"
    manifest_path = out / f"{stem}.manifest.json"
    frame = output_frame(result)
    rejected = rejected_rows(request, result)
    # The same cell rules as the daily export: money with two decimals, every text cell (the
    # rejected values as sent too) neutralised against spreadsheet formulas.
    sha = write_atomic(path, [_csv_bytes(csv_safe(csv_cells(frame)))])
    rejected_sha = write_atomic(rejected_path, [_csv_bytes(csv_safe(rejected))])
    manifest = {
        "file": path.name,
        "rows": frame.height,
        "sha256": sha,
        "columns": list(OUTPUT_COLUMNS),
        "rejected_file": rejected_path.name,
        "rejected_rows": rejected.height,
        "rejected_sha256": rejected_sha,
        "model_version": result.model_version,
        "generated_at": result.scored_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": source,
        "input_files": list(request.files),
    }
    write_atomic(manifest_path, [json.dumps(manifest, indent=2).encode()])
    return PresubmissionFiles(
        path, rejected_path, manifest_path, result, rejected.height, request.files
    )


def score_folder(
    context: ScoringContext,
    folder: Path,
    out: Path,
    *,
    only: Path | None = None,
    today: date | None = None,
    scored_at: datetime | None = None,
) -> PresubmissionFiles:
    """Read, score and write one request folder (or one claims file of it)."""
    request = read_request_folder(folder, only)
    notes = request.notes if request.notes.height else None
    result = score_unsent(context, request.claims, notes, today=today, scored_at=scored_at)
    source = str(only) if only is not None else str(folder)
    return write_presubmission(request, result, out, source)
