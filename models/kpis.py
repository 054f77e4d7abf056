"""Denial KPIs of 64520 lines: the one definition the monthly KPI table, the pages and the report use.

Definitions (../shared/domain/rcm-kpis.md, HFMA Claim Integrity Task Force metric 1, "initial
denial rate", at claim-LINE level as the Task Force recommends, by count and by dollars):

- cohort rate (`denial_rate_exprs` + `with_rates`): lines of a service month initially denied ÷
  lines of that service month with a remit; by dollars, gross charges of those denied lines ÷
  gross charges of the remitted lines. Pending lines (no remit, `denied` null) stay out of the
  denominator because their outcome is unknown (house definition).
- Task Force variant (`hfma_initial_denial_rate`): lines denied with an adjudication date in the
  reporting month ÷ the average monthly lines submitted in the 3 months before it.

Input frames hold one row per 64520 line with `denied` (bool or 1/0; null while pending),
`charge_amount`, `service_date` and, for the Task Force variant, `submission_date` and
`adjudication_date`. New KPIs add an aggregation here and a column to `KPI_TABLE_COLUMNS`, so
the table and the pages keep one definition.

- front-end rejection rate (`front_end_rejection_rates`): 64520 lines of the cohort whose claim
  was rejected at the clearinghouse's or payer's front end (277CA, data_contracts/
  acknowledgements.py) at least once (a claim-level rejection, or a line-level one naming the
  line; the first submission or a later one) ÷ all 64520 lines of the cohort. Such a claim never
  reached adjudication: it is not a denial and stays out of the denial rate (its line has
  `denied` null). It is the complement of a first-pass acceptance rate, in the spirit of HFMA's
  clean claim rate (rcm-kpis.md, CL-1). Null when no acknowledgement was ever loaded: a practice
  that sends no 277CA files has an unknown rate, not a zero one.

Remit-only KPIs (`remit_denial_kpis`, `carc_pareto`, `remit_match_share`) read
`remit_line_outcomes` (every remit line read, whether or not its claim line loaded; each line's
latest remit, `REMIT_LINES_SQL`) by ADJUDICATION month: a remit without its claim has no
trustworthy service date. A remit line is denied by the label's rule over its own adjustments
(data_contracts/label.py). They serve a practice whose claims did not load (public samples,
a billing service that receives only 835s) and the Remittances page; the warehouse table
`remit_denial_kpis` is written from the same function.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from data_contracts.input_contract import TARGET_CPT

ALL_PAYERS = "ALL"
DATE_COLUMNS = ("service_date", "submission_date", "adjudication_date")

# The columns of the monthly KPI table, in order (pipelines/defs/kpis/monthly.py writes them).
KPI_TABLE_COLUMNS: tuple[str, ...] = (
    "service_month",
    "payer_id",
    "lines",
    "adjudicated_lines",
    "pending_lines",
    "denied_lines",
    "denial_rate_count",
    "adjudicated_charge",
    "denied_charge",
    "denial_rate_dollars",
    "front_end_rejected_lines",
    "front_end_rejection_rate",
)

ACKNOWLEDGEMENTS_TABLE = "claim_acknowledgements"


def front_end_rejected_sql(line_alias: str, acknowledgements: str = ACKNOWLEDGEMENTS_TABLE) -> str:
    """SQL per claim line (`line_alias` has claim_id, line_number): ever rejected at the front
    end; NULL on every line when no acknowledgement was ever loaded (the rate is then unknown)."""
    return (
        f"CASE WHEN EXISTS (SELECT 1 FROM {acknowledgements}) THEN EXISTS (SELECT 1 FROM "
        f"{acknowledgements} fe WHERE fe.claim_id = {line_alias}.claim_id "
        "AND fe.outcome = 'rejected' "
        f"AND (fe.level = 'claim' OR fe.line_number = {line_alias}.line_number)) END"
    )


# Every KPI the pages, the report and the monthly table show, defined in words once (the
# Glossary page reads this): name → (definition, source).
KPI_DEFINITIONS: dict[str, tuple[str, str]] = {
    "Initial denial rate, lines": (
        "64520 lines of a service month initially denied ÷ that month's 64520 lines with a "
        "remit; pending lines (no remit yet) are left out of the denominator",
        "HFMA Claim Integrity Task Force metric 1 at line level; cohort denominator is a house "
        "definition",
    ),
    "Initial denial rate, dollars": (
        "gross charges of the month's initially denied 64520 lines ÷ gross charges of its "
        "remitted lines",
        "HFMA Claim Integrity Task Force metric 1, by dollars",
    ),
    "HFMA Task Force rate (3-month)": (
        "lines denied with an adjudication date in the reporting month ÷ the average lines "
        "submitted a month in the 3 months before; the month in progress is not drawn",
        "HFMA Claim Integrity Task Force metric 1, as the Task Force defines the denominator",
    ),
    "Denied line": (
        "a 64520 line whose remit pays 0 with at least one CO, OA or PI adjustment whose CARC is "
        "not a non-denial code; zero payment from PR-1/2/3 alone is not a denial",
        "data_contracts/label.py (house definition)",
    ),
    "Pending line": (
        "a 64520 line without a remit yet: scored by the model, left out of the denial rates",
        "house definition",
    ),
    "Front-end rejection rate, lines": (
        "64520 lines of a service month whose claim was rejected at least once by the "
        "clearinghouse or payer front end (277CA) ÷ all that month's 64520 lines; such lines "
        "never reached adjudication and are not denials; unknown (—) when no 277CA was loaded",
        "complement of a first-pass acceptance rate, after HFMA's clean claim rate (house "
        "definition)",
    ),
    "Month in progress": (
        "the month the data end in, unless they end on its last day: its rates are still "
        "filling in and it is shaded",
        "house definition",
    ),
    "Expected loss": (
        "denial probability × the payment expected for the line (USD)",
        "export contract (risk_scores)",
    ),
}


def kpi_lines_sql(catalog: str | None = None) -> str:
    """64520 lines with their outcome between `$month_start` (inclusive) and `$month_end`.

    The same join the published snapshot's `denial_lines` makes (staged lines left-joined to
    their outcome), reduced to what the KPIs read. Needs `claim_acknowledgements` (created empty
    by the ingest DDL).
    """
    prefix = f"{catalog}.main." if catalog else ""
    return f"""
        SELECT c.claim_id, c.line_number, c.payer_id, c.service_date,
               CAST(c.charge_amount AS DOUBLE) AS charge_amount, o.status, o.denied,
               {front_end_rejected_sql("c", prefix + ACKNOWLEDGEMENTS_TABLE)} AS front_end_rejected
        FROM {prefix}staged_claim_lines AS c
        LEFT JOIN {prefix}line_outcomes AS o USING (claim_id, line_number)
        WHERE c.cpt_code = '{TARGET_CPT}'
          AND c.service_date >= $month_start AND c.service_date < $month_end
    """


def is_denied() -> pl.Expr:
    """The line was initially denied (null while pending); `denied` may be bool or 1/0."""
    return pl.col("denied").cast(pl.Boolean)


def adjudicated(lines: pl.DataFrame) -> pl.DataFrame:
    """Lines with an outcome (denied is true/1 or false/0)."""
    return lines.filter(pl.col("denied").is_not_null())


def denial_rate_exprs() -> list[pl.Expr]:
    """Aggregations over REMITTED lines for the initial denial rate by count and by dollars."""
    denied = is_denied()
    charge = pl.col("charge_amount").cast(pl.Float64)
    return [
        pl.len().alias("lines"),
        denied.sum().cast(pl.Int64).alias("lines_denied"),
        charge.sum().alias("charges"),
        charge.filter(denied).sum().alias("charges_denied"),
    ]


def with_rates(frame: pl.DataFrame) -> pl.DataFrame:
    """Add rate_count and rate_dollars to an aggregate of `denial_rate_exprs` (null without lines)."""
    return frame.with_columns(
        pl.when(pl.col("lines") > 0)
        .then(pl.col("lines_denied") / pl.col("lines"))
        .alias("rate_count"),
        pl.when(pl.col("charges") > 0)
        .then(pl.col("charges_denied") / pl.col("charges"))
        .alias("rate_dollars"),
    )


def _with_service_month(lines: pl.DataFrame) -> pl.DataFrame:
    if "service_month" in lines.columns:
        return lines.with_columns(pl.col("service_month").cast(pl.Date))
    return lines.with_columns(pl.col("service_date").dt.truncate("1mo").alias("service_month"))


def monthly_denial_rates(lines: pl.DataFrame) -> pl.DataFrame:
    """Cohort initial denial rate by service month, by count and by dollars, with the remitted share."""
    lines = _with_service_month(lines)
    totals = lines.group_by("service_month").agg(pl.len().alias("lines_submitted"))
    rates = with_rates(adjudicated(lines).group_by("service_month").agg(*denial_rate_exprs())).join(
        totals, on="service_month", how="left"
    )
    return rates.with_columns(
        (pl.col("lines") / pl.col("lines_submitted")).alias("share_adjudicated")
    ).sort("service_month")


def service_month_kpis(lines: pl.DataFrame, month_start: date) -> pl.DataFrame:
    """The monthly KPI table's rows for one service month: one per payer and the ALL total.

    `lines` are the month's 64520 lines (pending ones included); a month with no line gives no
    row, so "no data" stays distinguishable from "zero denials".
    """
    schema = {
        "service_month": pl.Date,
        "payer_id": pl.String,
        "lines": pl.Int64,
        "adjudicated_lines": pl.Int64,
        "pending_lines": pl.Int64,
        "denied_lines": pl.Int64,
        "denial_rate_count": pl.Float64,
        "adjudicated_charge": pl.Float64,
        "denied_charge": pl.Float64,
        "denial_rate_dollars": pl.Float64,
        "front_end_rejected_lines": pl.Int64,
        "front_end_rejection_rate": pl.Float64,
    }
    if lines.height == 0:
        return pl.DataFrame(schema=schema)
    remitted = adjudicated(lines)
    if "front_end_rejected" not in lines.columns:
        lines = lines.with_columns(pl.lit(None, pl.Boolean).alias("front_end_rejected"))
    # Known when any acknowledgement was loaded: the flag is then true/false on every line.
    acknowledged = lines["front_end_rejected"].is_not_null().any()
    status = pl.col("status") if "status" in lines.columns else pl.lit(None, pl.String)
    count_exprs = [
        pl.len().alias("all_lines"),
        # Pending: no outcome yet; a line rejected at the front end is neither pending nor denied.
        status.fill_null("pending").eq("pending").sum().cast(pl.Int64).alias("pending"),
        pl.col("front_end_rejected").fill_null(False).sum().cast(pl.Int64).alias("fe_rejected"),
    ]

    def summarise(by: list[str]) -> pl.DataFrame:
        counts = lines.group_by(by).agg(*count_exprs) if by else lines.select(*count_exprs)
        rates = (
            with_rates(remitted.group_by(by).agg(*denial_rate_exprs()))
            if by
            else with_rates(remitted.select(*denial_rate_exprs()))
        )
        return (
            counts.join(rates, on=by, how="left")
            if by
            else pl.concat([counts, rates], how="horizontal")
        )

    per_payer = summarise(["payer_id"]).with_columns(pl.col("payer_id").cast(pl.String))
    total = summarise([]).with_columns(pl.lit(ALL_PAYERS).alias("payer_id"))
    both = pl.concat([total.select(per_payer.columns), per_payer], how="vertical_relaxed")
    adjudicated_lines = pl.col("lines").fill_null(0).cast(pl.Int64)
    return (
        both.select(
            pl.lit(month_start.replace(day=1)).alias("service_month"),
            pl.col("payer_id"),
            pl.col("all_lines").cast(pl.Int64).alias("lines"),
            adjudicated_lines.alias("adjudicated_lines"),
            pl.col("pending").alias("pending_lines"),
            pl.col("lines_denied").fill_null(0).cast(pl.Int64).alias("denied_lines"),
            pl.col("rate_count").alias("denial_rate_count"),
            pl.col("charges").fill_null(0.0).alias("adjudicated_charge"),
            pl.col("charges_denied").fill_null(0.0).alias("denied_charge"),
            pl.col("rate_dollars").alias("denial_rate_dollars"),
            pl.col("fe_rejected").alias("front_end_rejected_lines"),
            pl.when(pl.lit(acknowledged))
            .then(pl.col("fe_rejected") / pl.col("all_lines"))
            .alias("front_end_rejection_rate"),
        )
        .cast(schema)
        .sort(pl.col("payer_id") != ALL_PAYERS, "payer_id")
    )


def data_as_of(lines: pl.DataFrame) -> date | None:
    """The newest service, submission or adjudication date in the lines: how far the data goes."""
    newest = [lines[c].max() for c in DATE_COLUMNS if c in lines.columns and lines.height]
    newest = [d for d in newest if d is not None]
    return max(newest) if newest else None


def month_in_progress(lines: pl.DataFrame) -> date | None:
    """First day of the month the data ends in, unless it ends on that month's last day."""
    as_of = data_as_of(lines)
    if as_of is None:
        return None
    if (as_of + timedelta(days=1)).month != as_of.month:
        return None
    return as_of.replace(day=1)


def hfma_initial_denial_rate(
    lines: pl.DataFrame, start: date | None = None, end: date | None = None
) -> pl.DataFrame:
    """Task Force variant: denials adjudicated in a month ÷ mean lines submitted in the 3 months before.

    A reporting-month metric: `lines` must NOT be cut by service date (the 3 prior months'
    submissions would then shrink while the cohort's denials keep arriving, which drew 600%
    once the service-date filter was set); the window `start`–`end` selects the reporting
    months instead. The month the data ends in is incomplete and not given.
    """
    empty = pl.DataFrame(schema={"month": pl.Date, "rate_count_hfma": pl.Float64})
    if "adjudication_date" not in lines.columns or "submission_date" not in lines.columns:
        return empty
    submitted = (
        lines.filter(pl.col("submission_date").is_not_null())
        .group_by(pl.col("submission_date").dt.truncate("1mo").alias("month"))
        .agg(pl.len().alias("submitted"))
        .sort("month")
    )
    last_remit = lines["adjudication_date"].max()
    if submitted.height == 0 or last_remit is None:
        return empty
    denied = (
        lines.filter(is_denied())
        .group_by(pl.col("adjudication_date").dt.truncate("1mo").alias("month"))
        .agg(pl.len().alias("denied_in_month"))
    )
    months = pl.DataFrame(
        {
            "month": pl.date_range(
                submitted["month"].min(),
                max(submitted["month"].max(), last_remit.replace(day=1)),
                "1mo",
                eager=True,
            )
        }
    )
    frame = (
        months.join(submitted, on="month", how="left")
        .with_columns(pl.col("submitted").fill_null(0))
        .with_columns(pl.col("submitted").shift(1).rolling_mean(3).alias("avg_submitted_prior_3m"))
        .join(denied, on="month", how="left")
        .with_columns(pl.col("denied_in_month").fill_null(0))
        .with_columns(
            (pl.col("denied_in_month") / pl.col("avg_submitted_prior_3m")).alias("rate_count_hfma")
        )
    )
    # Months after the newest remit have no denials yet, not a zero denial rate; the month of
    # the newest remit is still filling in unless it ends on that month's last day (remits can
    # stop mid-month while services run on: that month read 1.8% on the default world).
    remit_month = last_remit.replace(day=1)
    remits_complete = (last_remit + timedelta(days=1)).month != last_remit.month
    keep = pl.col("rate_count_hfma").is_not_null() & (
        pl.col("month") <= pl.lit(remit_month)
        if remits_complete
        else pl.col("month") < pl.lit(remit_month)
    )
    in_progress = month_in_progress(lines)
    if in_progress is not None:
        keep &= pl.col("month") < pl.lit(in_progress)
    if start is not None:
        keep &= pl.col("month") >= pl.lit(start.replace(day=1))
    if end is not None:
        keep &= pl.col("month") <= pl.lit(end.replace(day=1))
    return frame.filter(keep)


def front_end_rejection_rates(lines: pl.DataFrame) -> pl.DataFrame:
    """Share of each service month's 64520 lines rejected at the front end at least once (277CA).

    `front_end_rejected` comes from `front_end_rejected_sql`; it is null on every line when no
    acknowledgement was ever loaded (the rate is then unknown, not 0).
    """
    schema = {"service_month": pl.Date, "rejected": pl.Int64, "lines": pl.Int64, "rate": pl.Float64}
    if "front_end_rejected" not in lines.columns or lines["front_end_rejected"].is_null().all():
        return pl.DataFrame(schema=schema)
    return (
        _with_service_month(lines)
        .group_by("service_month")
        .agg(
            pl.col("front_end_rejected").fill_null(False).cast(pl.Int64).sum().alias("rejected"),
            pl.len().cast(pl.Int64).alias("lines"),
        )
        .with_columns((pl.col("rejected") / pl.col("lines")).alias("rate"))
        .sort("service_month")
        .select(list(schema))
    )


# Columns of each remit line the remit-only KPIs read (`remit_line_outcomes`, latest remits).
REMIT_LINE_COLUMNS: tuple[str, ...] = (
    "claim_id",
    "line_number",
    "cpt_code",
    "adjudication_date",
    "charge_amount",
    "paid_amount",
    "denied",
    "denial_group_code",
    "primary_denial_carc",
    "denial_category",
    "matched_claim_line",
)
REMIT_LINES_SQL = (
    "SELECT claim_id, line_number, cpt_code, adjudication_date, "
    "CAST(charge_amount AS DOUBLE) AS charge_amount, CAST(paid_amount AS DOUBLE) AS paid_amount, "
    "denied, denial_group_code, primary_denial_carc, denial_category, matched_claim_line "
    "FROM remit_line_outcomes WHERE latest"
)
# The remit KPI table's columns, in order (pipelines/defs/kpis/monthly.py writes them).
REMIT_KPI_COLUMNS: tuple[str, ...] = (
    "adjudication_month",
    "remit_lines",
    "denied_lines",
    "denial_rate",
    "lines_64520",
    "denied_lines_64520",
    "denial_rate_64520",
    "denied_charge",
    "lines_without_claim_line",
)

KPI_DEFINITIONS["Denial rate, remit lines"] = (
    "remit lines (any procedure, or the procedures chosen) adjudicated in a month and denied ÷ "
    "all remit lines adjudicated that month, each line's latest remit; read from the 835s alone, "
    "whether or not the claim lines loaded",
    "HFMA initial denial rate by adjudication month (house variant for remittances without claims)",
)
KPI_DEFINITIONS["Remit lines matched to a claim line"] = (
    "remit lines whose claim line is loaded ÷ all remit lines; the rest are counted in the "
    "remit-only KPIs but cannot reach the model",
    "house definition",
)


def remit_denial_kpis(remits: pl.DataFrame) -> pl.DataFrame:
    """Remit lines, denied lines and denial rates by adjudication month (`REMIT_KPI_COLUMNS`).

    `remits` holds one row per remit line (`REMIT_LINES_SQL`); the 64520 columns count that
    procedure alone; `denied_charge` sums the submitted charges (SVC02) of denied lines.
    """
    denied = pl.col("denied").cast(pl.Boolean)
    is_64520 = pl.col("cpt_code") == TARGET_CPT
    out = (
        remits.with_columns(
            pl.col("adjudication_date").dt.truncate("1mo").alias("adjudication_month")
        )
        .group_by("adjudication_month")
        .agg(
            pl.len().cast(pl.Int64).alias("remit_lines"),
            denied.sum().cast(pl.Int64).alias("denied_lines"),
            is_64520.sum().cast(pl.Int64).alias("lines_64520"),
            (denied & is_64520).sum().cast(pl.Int64).alias("denied_lines_64520"),
            pl.col("charge_amount").cast(pl.Float64).filter(denied).sum().alias("denied_charge"),
            (~pl.col("matched_claim_line").cast(pl.Boolean))
            .sum()
            .cast(pl.Int64)
            .alias("lines_without_claim_line"),
        )
        .with_columns(
            (pl.col("denied_lines") / pl.col("remit_lines")).alias("denial_rate"),
            pl.when(pl.col("lines_64520") > 0)
            .then(pl.col("denied_lines_64520") / pl.col("lines_64520"))
            .alias("denial_rate_64520"),
        )
    )
    return out.select(REMIT_KPI_COLUMNS).sort("adjudication_month")


def carc_pareto(remits: pl.DataFrame) -> pl.DataFrame:
    """Denied remit lines by their primary denial reason (group code and CARC), most first.

    Columns: reason (`CO-16`), group_code, carc, category (the CARC's denial category),
    denied_lines, share (of all denied lines), cumulative_share.
    """
    denied = remits.filter(pl.col("denied").cast(pl.Boolean))
    counts = (
        denied.group_by(
            pl.col("denial_group_code").alias("group_code"),
            pl.col("primary_denial_carc").alias("carc"),
        )
        .agg(
            pl.len().cast(pl.Int64).alias("denied_lines"),
            pl.col("denial_category").drop_nulls().first().alias("category"),
        )
        .with_columns(pl.concat_str("group_code", pl.lit("-"), "carc").alias("reason"))
        .sort(["denied_lines", "reason"], descending=[True, False])
        .select("reason", "group_code", "carc", "category", "denied_lines")
    )
    total = max(denied.height, 1)
    return counts.with_columns(
        (pl.col("denied_lines") / total).alias("share"),
        (pl.col("denied_lines").cum_sum() / total).alias("cumulative_share"),
    )


def remit_match_share(remits: pl.DataFrame) -> tuple[int, int]:
    """(remit lines matched to a loaded claim line, all remit lines)."""
    matched = int(remits["matched_claim_line"].cast(pl.Boolean).sum()) if remits.height else 0
    return matched, remits.height
