"""One table of payer rules for the pre-submission edits: filing limit, bilateral convention, auth.

How it is loaded (for the scoring context): build it once from the warehouse's modelling table,
then apply the analyst's file named by the setting `DENIAL_RISK_PAYER_RULES` when it is set:

    rules = PayerRules.from_history(modelling_table)
    if (path := payer_rules_file()) is not None:
        rules = rules.with_overrides(path)

The file is a CSV with `payer_id` and any of `filing_limit_days`, `bilateral_convention`,
`requires_prior_auth` (and an optional free-text `note`); a blank cell keeps the learned value.
Every value carries its provenance: `history` (learned), `override` (the file) or `default`
(nothing known). The format is documented in docs/edits.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from data_contracts.codes import MISSING_AUTH_CARC, TIMELY_FILING_CARC, carc_denial_category

PAYER_RULES_SETTING = "DENIAL_RISK_PAYER_RULES"
BILATERAL_CONVENTIONS = ("modifier_50", "rt_lt_two_lines", "units_2", "unknown")
PROVENANCES = ("history", "override", "default")

# A payer's authorization requirement starts on a date (domain cpt-64520.md §8.1 drift), so only
# the payer's 20 most recent labelled 64520 lines sent without a number (by service date) count:
# a fixed-date window holds too few such lines for payers whose providers nearly always send a
# number (5 in 180 days for a commercial payer of a 30k-line world), while the last 20 lines
# follow a requirement that started this year. Below 8 lines the share is too noisy to call.
AUTH_RECENT_LINES = 20
AUTH_MIN_LINES = 8
# Half of those lines denied for missing authorization means the payer requires it; at most 5%
# (stray CO-197 denials) means it does not. Between the two the requirement is unknown and the
# edit is reported as not checked.
AUTH_REQUIRED_SHARE = 0.5
AUTH_NOT_REQUIRED_SHARE = 0.05

SCHEMA: dict[str, pl.DataType] = {
    "payer_id": pl.String(),
    "filing_limit_days": pl.Int64(),
    "filing_limit_days_provenance": pl.String(),
    # A lag the payer has paid: a line sent no later is timely even when the limit is unknown.
    "longest_paid_lag_days": pl.Int64(),
    "bilateral_convention": pl.String(),
    "bilateral_convention_provenance": pl.String(),
    "requires_prior_auth": pl.Boolean(),
    "requires_prior_auth_provenance": pl.String(),
}
OVERRIDE_COLUMNS = ("filing_limit_days", "bilateral_convention", "requires_prior_auth")
HISTORY_COLUMNS = (
    "payer_id",
    "service_date",
    "submission_date",
    "is_pending",
    "denied",
    "denial_category",
    "prior_auth_present",
    "payer_bilateral_convention",
    "payer_filing_limit_days",
)
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


class PayerRulesFileError(ValueError):
    """An override file that cannot be applied; the message names the file, row and column."""


def payer_rules_file() -> Path | None:
    """The analyst's override file from `DENIAL_RISK_PAYER_RULES`, or None when unset."""
    value = os.environ.get(PAYER_RULES_SETTING, "").strip()
    return Path(value) if value else None


def _provenance(value: pl.Expr) -> pl.Expr:
    return pl.when(value.is_not_null()).then(pl.lit("history")).otherwise(pl.lit("default"))


@dataclass(frozen=True)
class PayerRules:
    """Per payer: filing limit, bilateral convention, prior-auth requirement, with provenance."""

    frame: pl.DataFrame

    @classmethod
    def empty(cls) -> PayerRules:
        return cls(pl.DataFrame(schema=SCHEMA))

    @classmethod
    def from_history(cls, history: pl.DataFrame) -> PayerRules:
        """Rules learned from the modelling table's 64520 lines (labelled and pending).

        Bilateral convention and filing limit are the point-in-time features of the payer's
        latest line (`add_payer_bilateral_convention`, `add_filing_limit`), so the edits and the
        model read the same learned values. The filing limit counts only once a timely-filing
        denial (CARC 29) bounds it; until then the largest paid lag is kept as a lower bound.
        """
        missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
        if missing:
            raise ValueError(f"payer rules history lacks column(s): {', '.join(missing)}")
        if history.is_empty():
            return cls.empty()
        frame = history.select(HISTORY_COLUMNS).with_columns(
            pl.col("service_date").cast(pl.Date), pl.col("submission_date").cast(pl.Date)
        )
        latest = (
            frame.sort("submission_date", "service_date")
            .group_by("payer_id", maintain_order=True)
            .last()
            .select(
                "payer_id",
                pl.col("payer_bilateral_convention").fill_null("unknown"),
                pl.col("payer_filing_limit_days").cast(pl.Int64).alias("_learned_limit"),
            )
        )
        labelled = frame.filter(~pl.col("is_pending").fill_null(True))
        late_category = carc_denial_category(TIMELY_FILING_CARC)
        auth_category = carc_denial_category(MISSING_AUTH_CARC)
        bounded = labelled.group_by("payer_id").agg(
            (
                pl.col("denied").cast(pl.Boolean).fill_null(False)
                & (pl.col("denial_category") == late_category)
            )
            .any()
            .alias("_limit_bounded")
        )
        no_auth = (
            labelled.filter(~pl.col("prior_auth_present").fill_null(False))
            .sort("service_date", "submission_date", descending=True)
            .group_by("payer_id", maintain_order=True)
            .head(AUTH_RECENT_LINES)
        )
        auth = no_auth.group_by("payer_id").agg(
            pl.len().alias("_n"),
            (
                pl.col("denied").cast(pl.Boolean).fill_null(False)
                & (pl.col("denial_category") == auth_category)
            )
            .mean()
            .alias("_share"),
        )
        requires = (
            pl.when(pl.col("_n").fill_null(0) < AUTH_MIN_LINES)
            .then(pl.lit(None, dtype=pl.Boolean))
            .when(pl.col("_share") >= AUTH_REQUIRED_SHARE)
            .then(pl.lit(True))
            .when(pl.col("_share") <= AUTH_NOT_REQUIRED_SHARE)
            .then(pl.lit(False))
            .otherwise(pl.lit(None, dtype=pl.Boolean))
        )
        bounded_limit = pl.col("_limit_bounded").fill_null(False)
        convention = (
            pl.when(pl.col("payer_bilateral_convention") == "unknown")
            .then(pl.lit(None, dtype=pl.String))
            .otherwise(pl.col("payer_bilateral_convention"))
        )
        rules = (
            latest.join(bounded, on="payer_id", how="left")
            .join(auth, on="payer_id", how="left")
            .select(
                "payer_id",
                pl.when(bounded_limit).then(pl.col("_learned_limit")).alias("filing_limit_days"),
                _provenance(pl.when(bounded_limit).then(pl.col("_learned_limit"))).alias(
                    "filing_limit_days_provenance"
                ),
                pl.when(~bounded_limit)
                .then(pl.col("_learned_limit"))
                .alias("longest_paid_lag_days"),
                convention.fill_null("unknown").alias("bilateral_convention"),
                _provenance(convention).alias("bilateral_convention_provenance"),
                requires.alias("requires_prior_auth"),
                _provenance(requires).alias("requires_prior_auth_provenance"),
            )
        )
        return cls(rules.cast(SCHEMA).sort("payer_id"))

    def with_overrides(self, path: Path) -> PayerRules:
        """The analyst's CSV applied over these rules; a non-blank cell wins over history."""
        overrides = read_overrides(path)
        merged = self.frame.join(overrides, on="payer_id", how="full", coalesce=True)
        exprs = []
        for column in OVERRIDE_COLUMNS:
            given = pl.col(f"_override_{column}")
            exprs += [
                pl.coalesce(given, pl.col(column)).alias(column),
                pl.when(given.is_not_null())
                .then(pl.lit("override"))
                .otherwise(pl.col(f"{column}_provenance").fill_null("default"))
                .alias(f"{column}_provenance"),
            ]
        frame = merged.with_columns(exprs).with_columns(
            pl.col("bilateral_convention").fill_null("unknown")
        )
        return PayerRules(frame.select(list(SCHEMA)).cast(SCHEMA).sort("payer_id"))

    def for_payers(self, payer_ids: pl.Series) -> pl.DataFrame:
        """One rules row per given payer id (payers without rules get nulls and `default`)."""
        keys = pl.DataFrame({"payer_id": payer_ids.cast(pl.String)}).unique(maintain_order=True)
        joined = keys.join(self.frame, on="payer_id", how="left")
        return joined.with_columns(
            pl.col("bilateral_convention").fill_null("unknown"),
            *[pl.col(f"{c}_provenance").fill_null("default") for c in OVERRIDE_COLUMNS],
        )


def _cell_error(path: Path, row: int, column: str, message: str) -> PayerRulesFileError:
    # Row numbers count data rows from 1; the file line adds the header.
    return PayerRulesFileError(f"{path}: row {row} (line {row + 1}), column {column}: {message}")


def _parse_limit(path: Path, row: int, text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or int(text) <= 0:
        raise _cell_error(
            path, row, "filing_limit_days", f"{text!r} is not a whole number of days above 0"
        )
    return int(text)


def _parse_convention(path: Path, row: int, text: str) -> str | None:
    if not text:
        return None
    if text not in BILATERAL_CONVENTIONS:
        allowed = ", ".join(BILATERAL_CONVENTIONS)
        raise _cell_error(path, row, "bilateral_convention", f"{text!r} is not one of {allowed}")
    return text


def _parse_flag(path: Path, row: int, text: str) -> bool | None:
    if not text:
        return None
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise _cell_error(path, row, "requires_prior_auth", f"{text!r} is not true or false")


def read_overrides(path: Path) -> pl.DataFrame:
    """The override file as typed `_override_*` columns; any bad cell raises PayerRulesFileError."""
    path = Path(path)
    if not path.is_file():
        raise PayerRulesFileError(f"{path}: payer rules file not found")
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.PolarsError as error:
        raise PayerRulesFileError(f"{path}: not a readable CSV file ({error})") from error
    columns = [c.strip() for c in raw.columns]
    raw.columns = columns
    if "payer_id" not in columns:
        raise PayerRulesFileError(f"{path}: column payer_id is missing (header: {columns})")
    unknown = [c for c in columns if c not in ("payer_id", "note", *OVERRIDE_COLUMNS)]
    if unknown:
        allowed = ", ".join(("payer_id", *OVERRIDE_COLUMNS, "note"))
        raise PayerRulesFileError(
            f"{path}: unknown column(s) {', '.join(unknown)}; allowed: {allowed}"
        )
    records: dict[str, list] = {"payer_id": [], **{f"_override_{c}": [] for c in OVERRIDE_COLUMNS}}
    seen: dict[str, int] = {}
    for row, values in enumerate(raw.iter_rows(named=True), start=1):
        cell = {k: (v or "").strip() for k, v in values.items()}
        if not any(cell.values()):
            continue  # a blank line, as spreadsheets leave at the end
        payer = cell["payer_id"]
        if not payer:
            raise _cell_error(path, row, "payer_id", "is blank")
        if payer in seen:
            raise _cell_error(
                path, row, "payer_id", f"{payer!r} is already given in row {seen[payer]}"
            )
        seen[payer] = row
        records["payer_id"].append(payer)
        records["_override_filing_limit_days"].append(
            _parse_limit(path, row, cell.get("filing_limit_days", ""))
        )
        records["_override_bilateral_convention"].append(
            _parse_convention(path, row, cell.get("bilateral_convention", ""))
        )
        records["_override_requires_prior_auth"].append(
            _parse_flag(path, row, cell.get("requires_prior_auth", ""))
        )
    return pl.DataFrame(
        records,
        schema={
            "payer_id": pl.String,
            "_override_filing_limit_days": pl.Int64,
            "_override_bilateral_convention": pl.String,
            "_override_requires_prior_auth": pl.Boolean,
        },
    )
