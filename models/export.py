"""The export to billing: `risk_scores_<UTC>.csv` written atomically, then its manifest.

Contract (README "Export contract"): one row per pending 64520 line, sorted by expected loss
descending, no patient identifiers, exactly `EXPORT_COLUMNS`. The CSV is written to a hidden
temporary file in the same folder (so `os.replace` is an atomic rename on the same file system),
fsynced and renamed; the manifest (rows, sha256, model version, columns, generated_at) is written
the same way afterwards, so a manifest's presence means its CSV is complete. An exception while
writing removes the temporary file: no `risk_scores_*.csv` is left behind.

Text cells that a spreadsheet would run as a formula (first character `=`, `+`, `-`, `@`, tab
or carriage return; OWASP "CSV Injection") get a leading single quote (`csv_safe`); numeric
columns are numbers, not text, and are written as they are. The work queue's CSV download uses
the same function.
"""

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

import polars as pl

EXPORT_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "line_number",
    "cpt_code",
    "payer_id",
    "service_date",
    "charge_amount",
    "denial_probability",
    "risk_band",
    "expected_loss_usd",
    "reason_1",
    "reason_2",
    "reason_3",
    "reasons",
    "recommended_action",
    # Reason categories of the payer's active policy-drift alerts ('' when none; docs/monitoring.md).
    "policy_change",
    "model_version",
    "scored_at",
    "low_data",
)
EXPORT_BATCH_ROWS = 10_000
# OWASP CSV Injection: a cell starting with one of these is a formula to Excel and LibreOffice.
FORMULA_LEADING_CHARACTERS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_LEADING_PATTERN = r"^[=+\-@\t\r]"  # the characters above, as a regex class


@dataclass(frozen=True)
class ExportResult:
    """Where the export went and what it holds."""

    path: Path
    manifest_path: Path
    rows: int
    sha256: str
    generated_at: str


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells starting like a formula get a leading single quote; other cells are unchanged."""
    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA_LEADING_PATTERN))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )


def export_frame(scored: pl.DataFrame) -> pl.DataFrame:
    """The contract's columns, formatted and sorted by expected loss descending."""
    return scored.sort(
        ["expected_loss_usd", "claim_id", "line_number"], descending=[True, False, False]
    ).select(
        pl.col("claim_id").cast(pl.String),
        pl.col("line_number").cast(pl.Int64),
        pl.col("cpt_code").cast(pl.String),
        pl.col("payer_id").cast(pl.String),
        pl.col("service_date").cast(pl.Date),
        pl.col("charge_amount").cast(pl.Float64).round(2),
        pl.col("denial_probability").cast(pl.Float64).round(4),
        pl.col("risk_band").cast(pl.String),
        pl.col("expected_loss_usd").cast(pl.Float64).round(2),
        pl.col("reason_1").cast(pl.String),
        pl.col("reason_2").cast(pl.String),
        pl.col("reason_3").cast(pl.String),
        pl.col("reasons").cast(pl.String),
        pl.col("recommended_action").cast(pl.String),
        (pl.col("policy_change") if "policy_change" in scored.columns else pl.lit(""))
        .cast(pl.String)
        .fill_null("")
        .alias("policy_change"),
        pl.col("model_version").cast(pl.String),
        pl.col("scored_at")
        .cast(pl.Datetime("us", "UTC"))
        .dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        .alias("scored_at"),
        pl.col("low_data").cast(pl.Boolean),
    )


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
        csv_safe(batch).write_csv(buf, include_header=not header_done)
        header_done = True
        counter[0] += batch.height
        yield buf.getvalue()
    if not header_done:
        yield (",".join(EXPORT_COLUMNS) + "\n").encode()


def write_export_batches(
    batches: Iterable[pl.DataFrame],
    exports_dir: Path,
    model_version: str,
    now: datetime | None = None,
    model_kind: str | None = None,
) -> ExportResult:
    """Write already-sorted export batches as one CSV, then its manifest (both atomic)."""
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
    manifest = {
        "file": path.name,
        "rows": counter[0],
        "sha256": sha,
        "model_version": model_version,
        "columns": list(EXPORT_COLUMNS),
        "generated_at": generated_at,
    }
    if model_kind:
        # lightgbm, or logistic_regression for a practice below the learning curve's minimum.
        manifest["model_kind"] = model_kind
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
) -> ExportResult:
    """Write the scored pending lines as the billing export (contract columns, sorted)."""
    frame = export_frame(scored)
    return write_export_batches(
        frame.iter_slices(batch_rows), exports_dir, model_version, now, model_kind
    )
