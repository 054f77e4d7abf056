"""The export to billing: `risk_scores_<UTC>.csv` written atomically, then its manifest.

Contract v2 (`data_contracts.export_schema`, README "Export contract"): one row per pending 64520
line, sorted by expected loss descending, no patient identifiers, exactly `EXPORT_COLUMNS`. The
CSV is written to a hidden temporary file in the same folder (so `os.replace` is an atomic rename
on the same file system), fsynced and renamed; the manifest (file format, columns, band
thresholds, reason dictionary, model and reference-table versions, rows, sha256) is written the
same way afterwards, so a manifest's presence means its CSV is complete. An exception while
writing removes the temporary file: no `risk_scores_*.csv` is left behind.

Text cells that a spreadsheet would run as a formula (first character `=`, `+`, `-`, `@`, tab
or carriage return; OWASP "CSV Injection") get a leading single quote (`csv_safe`); numeric
columns are numbers, not text, and are never prefixed; money is written with two decimals. The
work queue's CSV download uses the same function."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts.codes import reference_releases
from data_contracts.export_schema import (
    COLUMN_NAMES,
    EXPORT_SPEC,
    FORMULA_START_PATTERN,
    MONEY_COLUMNS,
    TEXT_COLUMNS,
    ExportColumn,
    file_format,
    risk_bands,
)
from models.reasons import reason_dictionary

# Export contract v2: the column list, types and file format live in data_contracts.export_schema.
EXPORT_COLUMNS: tuple[str, ...] = COLUMN_NAMES
EXPORT_BATCH_ROWS = 10_000
# OWASP CSV Injection: a cell starting with one of these is a formula to Excel and LibreOffice.
FORMULA_LEADING_CHARACTERS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_LEADING_PATTERN = FORMULA_START_PATTERN  # the characters above, as a regex class


@dataclass(frozen=True)
class ExportResult:
    """Where the export went and what it holds."""

    path: Path
    manifest_path: Path
    rows: int
    sha256: str
    generated_at: str


def csv_safe(frame: pl.DataFrame, columns: Iterable[str] | None = None) -> pl.DataFrame:
    """Text cells starting like a formula get a leading single quote; other cells are unchanged.

    `columns`: the text columns to treat (default: every String column of the frame).
    """
    if columns is None:
        text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    else:
        text_columns = [name for name in columns if name in frame.columns]
    return frame.with_columns(
        pl.when(pl.col(name).cast(pl.String).str.contains(_FORMULA_LEADING_PATTERN))
        .then(pl.lit("'") + pl.col(name).cast(pl.String))
        .otherwise(pl.col(name).cast(pl.String))
        .alias(name)
        for name in text_columns
    )


def money_text(column: str) -> pl.Expr:
    """USD with exactly two decimals as text (`12.50`, never `12.5`), for the CSV."""
    cents = (pl.col(column).cast(pl.Float64) * 100).round(0).cast(pl.Int64)
    whole = cents.abs() // 100
    fraction = (cents.abs() % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole.cast(pl.String), pl.lit("."), fraction]).alias(column)


def csv_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """Contract columns as written: text cells formula-safe, money with two decimals."""
    return csv_safe(frame, TEXT_COLUMNS).with_columns(
        money_text(name)
        for name in MONEY_COLUMNS
        if name in frame.columns and frame.schema[name].is_numeric()
    )


def _typed(column: ExportColumn, scored: pl.DataFrame) -> pl.Expr:
    """One contract column from the scored frame, cast to its type ('' policy_change when absent)."""
    name = column.name
    if name not in scored.columns:
        if not column.nullable:
            raise ValueError(f"scored lines lack the export column {name!r}")
        source = pl.lit("" if name == "policy_change" else None)
    else:
        source = pl.col(name)
    if column.type == "integer":
        return source.cast(pl.Int64).alias(name)
    if column.type == "money":
        return source.cast(pl.Float64).round(2).alias(name)
    if column.type == "probability":
        return source.cast(pl.Float64).round(4).alias(name)
    if column.type == "date":
        return source.cast(pl.Date).alias(name)
    if column.type == "boolean":
        return source.cast(pl.Boolean).alias(name)
    if column.type == "timestamp":
        return source.cast(pl.Datetime("us", "UTC")).dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias(name)
    text = source.cast(pl.String)
    # policy_change is '' (not missing) when the payer has no open alert.
    return (text.fill_null("") if name == "policy_change" else text).alias(name)


def export_frame(scored: pl.DataFrame) -> pl.DataFrame:
    """The contract's columns, typed and sorted by expected loss descending."""
    return scored.sort(
        ["expected_loss_usd", "claim_id", "line_number"], descending=[True, False, False]
    ).select(_typed(column, scored) for column in EXPORT_SPEC)


def export_name(now: datetime) -> str:
    """`risk_scores_<YYYYmmddTHHMMSSZ>.csv` for a UTC time."""
    return f"risk_scores_{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.csv"


def _write_atomic(path: Path, chunks: Iterable[bytes]) -> str:
    """Write chunks to a hidden temp file beside `path`, fsync, rename; return the sha256."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                digest.update(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return digest.hexdigest()


# The same atomic writer for every product file beside the exports (pre-submission results too).
write_atomic = _write_atomic


def _csv_chunks(batches: Iterable[pl.DataFrame], counter: list[int]) -> Iterable[bytes]:
    header_done = False
    for batch in batches:
        if list(batch.columns) != list(EXPORT_COLUMNS):
            raise ValueError(
                f"export batch columns {batch.columns} differ from {list(EXPORT_COLUMNS)}"
            )
        buf = io.BytesIO()
        csv_cells(batch).write_csv(buf, include_header=not header_done)
        header_done = True
        counter[0] += batch.height
        yield buf.getvalue()
    if not header_done:
        yield (",".join(EXPORT_COLUMNS) + "\n").encode()


def export_manifest(
    file_name: str,
    rows: int,
    sha256: str,
    generated_at: str,
    model_version: str,
    model_kind: str | None = None,
    operating_point: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The v2 manifest: the file, its format and columns, bands, reasons, model and references."""
    manifest: dict[str, Any] = {
        "file": file_name,
        "rows": rows,
        "sha256": sha256,
        "generated_at": generated_at,
        **file_format(),
        "model_version": model_version,
    }
    if model_kind:
        # lightgbm, or logistic_regression for a practice below the learning curve's minimum.
        manifest["model_kind"] = model_kind
    if operating_point:
        manifest["risk_bands"] = risk_bands(operating_point)
    manifest["reasons"] = reason_dictionary()
    manifest["reference_tables"] = reference_releases()
    return manifest


def write_export_batches(
    batches: Iterable[pl.DataFrame],
    exports_dir: Path,
    model_version: str,
    now: datetime | None = None,
    model_kind: str | None = None,
    operating_point: dict[str, Any] | None = None,
) -> ExportResult:
    """Write already-sorted export batches as one CSV, then its manifest (both atomic).

    `operating_point`: the model's stored thresholds, for the manifest's risk_bands.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    exports_dir.mkdir(parents=True, exist_ok=True)
    path = exports_dir / export_name(now)
    bump = 0
    while path.exists():
        bump += 1
        path = exports_dir / export_name(now).replace(".csv", f"-{bump}.csv")
    counter = [0]
    sha = _write_atomic(path, _csv_chunks(batches, counter))
    generated_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = export_manifest(
        path.name, counter[0], sha, generated_at, model_version, model_kind, operating_point
    )
    manifest_path = path.with_suffix(".manifest.json")
    try:
        _write_atomic(manifest_path, [json.dumps(manifest, indent=2).encode()])
    except BaseException:
        # No manifest, no export: a CSV left without one would only confuse a reader.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return ExportResult(path, manifest_path, counter[0], sha, generated_at)


def write_export(
    scored: pl.DataFrame,
    exports_dir: Path,
    model_version: str,
    now: datetime | None = None,
    batch_rows: int = EXPORT_BATCH_ROWS,
    model_kind: str | None = None,
    operating_point: dict[str, Any] | None = None,
) -> ExportResult:
    """Write the scored pending lines as the billing export (contract columns, sorted)."""
    frame = export_frame(scored)
    return write_export_batches(
        frame.iter_slices(batch_rows),
        exports_dir,
        model_version,
        now,
        model_kind,
        operating_point,
    )
