"""Feature matrix from the modelling table, and the out-of-time split.

The feature list is data (a sequence of catalog-like specs), so tests can pass a small one and the
artifact can carry the exact list it was trained on. Categorical features are strings in the
modelling table; they become integer codes from category lists stored with the artifact, and an
unseen category becomes null (LightGBM treats it as missing). Polars `Categorical`/`Enum` columns
abort LightGBM 4.7, so the matrix handed to it is plain Float64 (STACK-NOTES "LightGBM and polars
categoricals").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np
import polars as pl

from data_contracts.warehouse_schema import MODELLING_TABLE_FIXED_COLUMNS

# Fixed columns of the modelling table (docs/architecture.md "Modelling table"); everything else in
# the table is a feature column declared by the catalog.
FIXED_COLUMNS: tuple[str, ...] = MODELLING_TABLE_FIXED_COLUMNS
KEY_COLUMNS: tuple[str, ...] = ("claim_id", "line_number")
LABEL_COLUMN = "denied"


class FeatureLike(Protocol):
    """What the model needs from a catalog entry (`models.features.catalog.FeatureSpec`)."""

    name: str
    kind: str
    reason_group: str


@dataclass(frozen=True)
class FeatureDef:
    """A feature as stored with the artifact: name, kind and the reason group it explains."""

    name: str
    kind: str
    reason_group: str


def catalog_features() -> list[FeatureDef]:
    """The production feature list, read from `models.features.catalog.FEATURES`."""
    from models.features.catalog import FEATURES

    return as_feature_defs(FEATURES)


def as_feature_defs(features: Sequence[FeatureLike]) -> list[FeatureDef]:
    """Plain copies of catalog entries (name, kind, reason_group), order kept."""
    defs = [FeatureDef(f.name, f.kind, f.reason_group) for f in features]
    bad = [f.name for f in defs if f.kind not in ("numeric", "boolean", "categorical")]
    if bad:
        raise ValueError(f"features with unknown kind: {bad}")
    return defs


def category_lists(frame: pl.DataFrame, features: Sequence[FeatureDef]) -> dict[str, list[str]]:
    """Sorted category list per categorical feature, learned from the training frame."""
    return {
        f.name: sorted(frame.get_column(f.name).cast(pl.String).drop_nulls().unique().to_list())
        for f in features
        if f.kind == "categorical"
    }


def feature_expressions(
    features: Sequence[FeatureDef], categories: dict[str, list[str]]
) -> list[pl.Expr]:
    """One Float64 expression per feature; categoricals become codes, unseen values null."""
    exprs: list[pl.Expr] = []
    for f in features:
        col = pl.col(f.name)
        if f.kind == "categorical":
            cats = categories[f.name]
            exprs.append(
                col.cast(pl.String)
                .replace_strict(cats, list(range(len(cats))), default=None, return_dtype=pl.Int32)
                .cast(pl.Float64)
                .alias(f.name)
            )
        else:
            exprs.append(col.cast(pl.Float64).alias(f.name))
    return exprs


def feature_matrix(
    frame: pl.DataFrame, features: Sequence[FeatureDef], categories: dict[str, list[str]]
) -> np.ndarray:
    """Float64 matrix in feature order (nulls → NaN) ready for LightGBM."""
    out = frame.select(feature_expressions(features, categories))
    return out.to_numpy().astype(np.float64, copy=False)


def labelled(frame: pl.DataFrame) -> pl.DataFrame:
    """Lines with an outcome (denied is 0 or 1)."""
    return frame.filter(pl.col(LABEL_COLUMN).is_not_null())


def pending(frame: pl.DataFrame) -> pl.DataFrame:
    """Lines still waiting for a remit."""
    return frame.filter(pl.col(LABEL_COLUMN).is_null())


def month_column(frame: pl.DataFrame, by: str = "service_month") -> pl.Expr:
    """First-of-month of the split column: service_month, or submission month."""
    if by == "service_month":
        return pl.col("service_month").cast(pl.Date)
    if by == "submission_month":
        return pl.col("submission_date").cast(pl.Date).dt.truncate("1mo")
    raise ValueError(f"unknown split column {by!r}")


@dataclass(frozen=True)
class Split:
    """Out-of-time split of the labelled lines."""

    train: pl.DataFrame
    valid: pl.DataFrame
    train_months: list[date]
    valid_months: list[date]


def out_of_time_split(
    frame: pl.DataFrame, valid_months: int = 2, by: str = "service_month"
) -> Split:
    """Older labelled months train; the most recent `valid_months` labelled months validate."""
    lab = labelled(frame).with_columns(month_column(frame, by).alias("_split_month"))
    months = sorted(lab.get_column("_split_month").unique().drop_nulls().to_list())
    if len(months) <= valid_months:
        raise ValueError(
            f"need more than {valid_months} labelled months for an out-of-time split, got {len(months)}"
        )
    cut = months[-valid_months]
    train = lab.filter(pl.col("_split_month") < cut).drop("_split_month")
    valid = lab.filter(pl.col("_split_month") >= cut).drop("_split_month")
    return Split(train, valid, months[:-valid_months], months[-valid_months:])


def data_hash(frame: pl.DataFrame, features: Sequence[FeatureDef]) -> str:
    """SHA-256 of keys, label and features (sorted by key) — identifies the training data."""
    cols = [*KEY_COLUMNS, LABEL_COLUMN, *(f.name for f in features)]
    ordered = frame.select(cols).sort(list(KEY_COLUMNS))
    h = hashlib.sha256()
    for name in cols:
        s = ordered.get_column(name)
        h.update(name.encode())
        if s.dtype == pl.String or s.dtype == pl.Categorical:
            h.update("\x1f".join(v if v is not None else "\x00" for v in s.to_list()).encode())
        else:
            h.update(s.cast(pl.Float64).fill_null(np.nan).to_numpy().tobytes())
    return h.hexdigest()
