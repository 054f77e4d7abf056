"""Append chunk rows to the landing layout (monthly files) and to the truth file.

CSV is written with fixed formatting (ISO dates, money with two decimals, integer units) so the
same seed gives byte-identical files; Parquet files are typed (dates, Decimal(12,2) money).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Literal

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.input_contract import column_names

MONEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "claims": ("charge_amount",),
    "remits": ("allowed_amount", "paid_amount"),
    "remit_adjustments": ("amount",),
    "notes": (),
}
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "claims": ("patient_birth_date", "service_date", "submission_date"),
    "remits": ("adjudication_date",),
    "remit_adjustments": (),
    "notes": ("note_date",),
}
# Which date decides the monthly file of a row.
MONTH_COLUMN: dict[str, str] = {
    "claims": "submission_date",
    "remits": "adjudication_date",
    "notes": "note_date",
}
FILE_PREFIX: dict[str, str] = {
    "claims": "claims",
    "remits": "remits",
    "remit_adjustments": "remit_adjustments",
    "notes": "notes",
}


def money_text(cents: pl.Expr) -> pl.Expr:
    """Integer cents as fixed two-decimal text."""
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    absolute = cents.abs()
    return pl.concat_str(
        sign,
        (absolute // 100).cast(pl.String),
        pl.lit("."),
        (absolute % 100).cast(pl.String).str.zfill(2),
    )


def to_dates(frame: pl.DataFrame, folder: str) -> pl.DataFrame:
    """Day numbers to polars dates."""
    return frame.with_columns(pl.col(c).cast(pl.Int32).cast(pl.Date) for c in DATE_COLUMNS[folder])


class LandingWriter:
    """Keeps one open file per (folder, month) and appends each chunk's rows."""

    def __init__(self, out: Path, fmt: Literal["csv", "parquet"]) -> None:
        self.out = out
        self.fmt = fmt
        self.handles: dict[Path, io.BufferedWriter] = {}
        self.parquet: dict[Path, pq.ParquetWriter] = {}
        for folder in ("claims", "remits", "remit_adjustments", "notes"):
            (out / folder).mkdir(parents=True, exist_ok=True)

    def write(self, folder: str, frame: pl.DataFrame, month: pl.Series) -> None:
        """Append rows to the monthly files of a folder, in row order."""
        if frame.height == 0:
            return
        frame = frame.select(column_names(folder))
        frame = to_dates(frame, folder)
        if self.fmt == "csv":
            frame = frame.with_columns(
                money_text(pl.col(c)).alias(c) for c in MONEY_COLUMNS[folder]
            )
        else:
            frame = frame.with_columns(
                # Via the exact text: a Decimal(14, 0) division would round cents away.
                money_text(pl.col(c)).cast(pl.Decimal(12, 2)).alias(c)
                for c in MONEY_COLUMNS[folder]
            )
        frame = frame.with_columns(month.alias("__month"))
        for key, part in frame.group_by("__month", maintain_order=True):
            path = self.out / folder / f"{FILE_PREFIX[folder]}_{key[0]}.{self.fmt}"
            self.append(path, part.drop("__month"))

    def append(self, path: Path, frame: pl.DataFrame) -> None:
        if self.fmt == "csv":
            handle = self.handles.get(path)
            header = handle is None
            if handle is None:
                handle = path.open("wb")
                self.handles[path] = handle
            frame.write_csv(handle, include_header=header, date_format="%Y-%m-%d")
            return
        table = frame.to_arrow()
        writer = self.parquet.get(path)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            self.parquet[path] = writer
        writer.write_table(table.cast(writer.schema) if table.schema != writer.schema else table)

    def close(self) -> list[Path]:
        """Close every file; return the paths written, sorted."""
        for handle in self.handles.values():
            handle.close()
        for writer in self.parquet.values():
            writer.close()
        return sorted([*self.handles, *self.parquet])


class TruthWriter:
    """Appends ground-truth rows to one CSV or Parquet file chosen by suffix."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fmt = "parquet" if path.suffix == ".parquet" else "csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle: io.BufferedWriter | None = None
        self.writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        frame = frame.with_columns(
            pl.col("true_probability").round(6), pl.col("denied").cast(pl.Int8)
        )
        if self.fmt == "csv":
            header = self.handle is None
            if self.handle is None:
                self.handle = self.path.open("wb")
            frame.write_csv(self.handle, include_header=header, float_precision=6)
            return
        table: pa.Table = frame.to_arrow()
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(table.cast(self.writer.schema))

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
        if self.writer is not None:
            self.writer.close()
