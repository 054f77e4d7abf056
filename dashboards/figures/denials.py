"""Denials page: initial denial rate by month and segment, cause Pareto, dollars denied, KPI tiles.

The KPIs themselves (cohort initial denial rate by count and dollars, the HFMA Task Force
3-month variant, the month in progress) are defined once in `models/kpis.py`, which the monthly
KPI table uses too; this module only draws them. The cohort rate's denominator is the month's
own remitted lines, NOT the Task Force's 3-month average: a service-month cohort rate does not
fall artificially while remits are still arriving, and it can be split by payer, provider and
place of service; the Task Force variant is the dotted line.

Input: the snapshot's `denial_lines` (one row per 64520 line; `denied` 1/0, null when pending).
"""

from __future__ import annotations

from datetime import date, timedelta

import plotly.graph_objects as go
import polars as pl

from dashboards.figures.common import (
    carc_descriptions,
    code_in_words,
    empty_figure,
    pareto_styled,
    provider_label,
    short,
    styled,
)
from dashboards.theme import (
    BLUE,
    GREY,
    MONEY_TICKFORMAT,
    OKABE_ITO,
    PERCENT_TICKFORMAT,
    VERMILLION,
    category_colour,
    money,
    money_change,
    percent,
    points_change,
)
from models.kpis import (
    adjudicated,
    denial_rate_exprs,
    front_end_rejection_rates,
    hfma_initial_denial_rate,
    month_in_progress,
    monthly_denial_rates,
    with_rates,
)

OTHER_CATEGORIES = "Other categories"
NO_OUTCOMES = "No 64520 line with a remit matches the filters yet."

# Share of a month's lines that must have a remit before it is the KPI tiles' reporting month.
REPORTING_MONTH_MIN_ADJUDICATED = 0.5

# A segment's rate from fewer remitted lines than this is greyed: 2 of 2 lines denied is a
# 100% bar that says nothing about the payer.
MIN_LINES_FOR_RATE = 20
INCOMPLETE_MONTH_LABEL = "month in progress (incomplete)"


def denial_rate_by_month_figure(
    lines: pl.DataFrame,
    all_dates: pl.DataFrame | None = None,
    start: date | None = None,
    end: date | None = None,
) -> go.Figure:
    """Initial denial rate by service month, by count and by dollars, with the Task Force variant.

    `lines` are cut by the service-date filter; `all_dates` (the same segment filters, no date
    cut) feed the Task Force line, whose reporting months follow `start`–`end`.
    """
    title = "Initial denial rate of 64520 lines by service month"
    monthly = monthly_denial_rates(lines)
    if monthly.height == 0:
        return empty_figure(title, NO_OUTCOMES)
    whole = lines if all_dates is None else all_dates
    in_progress = month_in_progress(whole)
    monthly = monthly.with_columns(
        pl.when(pl.col("service_month") == pl.lit(in_progress, pl.Date))
        .then(pl.lit(" · " + INCOMPLETE_MONTH_LABEL))
        .otherwise(pl.lit(""))
        .alias("note")
    )
    fig = go.Figure()
    fig.add_scatter(
        x=monthly["service_month"],
        y=monthly["rate_count"],
        name="by count (lines)",
        mode="lines+markers",
        line={"color": BLUE},
        customdata=monthly.select("lines_denied", "lines", "share_adjudicated", "note").to_numpy(),
        hovertemplate="%{x|%b %Y}%{customdata[3]}<br>denial rate %{y:.1%}<br>%{customdata[0]:,} "
        "of %{customdata[1]:,} remitted lines<br>%{customdata[2]:.0%} of the month's lines "
        "remitted<extra></extra>",
    )
    fig.add_scatter(
        x=monthly["service_month"],
        y=monthly["rate_dollars"],
        name="by dollars (charges)",
        mode="lines+markers",
        line={"color": VERMILLION, "dash": "dash"},
        customdata=monthly.select("charges_denied", "charges", "note").to_numpy(),
        hovertemplate="%{x|%b %Y}%{customdata[2]}<br>denial rate %{y:.1%}<br>$%{customdata[0]:,.0f} "
        "of $%{customdata[1]:,.0f} charges<extra></extra>",
    )
    hfma = hfma_initial_denial_rate(whole, start, end)
    if hfma.height:
        fig.add_scatter(
            x=hfma["month"],
            y=hfma["rate_count_hfma"],
            name="HFMA Task Force (÷ 3-month avg submitted)",
            mode="lines",
            line={"color": GREY, "dash": "dot"},
            customdata=hfma.select("denied_in_month", "avg_submitted_prior_3m").to_numpy(),
            hovertemplate="%{x|%b %Y}<br>Task Force rate %{y:.1%}<br>%{customdata[0]:,} lines "
            "denied in the month ÷ %{customdata[1]:,.1f} submitted a month in the 3 before"
            "<extra></extra>",
        )
    if in_progress is not None and in_progress in set(monthly["service_month"].to_list()):
        half_month = timedelta(days=15)
        fig.add_vrect(
            x0=in_progress - half_month,
            x1=in_progress + half_month,
            fillcolor=GREY,
            opacity=0.15,
            line_width=0,
            annotation_text=INCOMPLETE_MONTH_LABEL,
            annotation_position="top left",
            annotation_font_size=11,
        )
    fig.update_yaxes(tickformat=PERCENT_TICKFORMAT, rangemode="tozero")
    return styled(
        fig,
        title,
        "Service month",
        "Initial denial rate (% of remitted lines)",
        "Share of each service month's remitted 64520 lines that were initially denied, by line "
        "count and by billed charges; recent months are still filling in and the shaded month is "
        "in progress.",
    )


# Dimensions whose values are codes, shown with their meaning (common.code_in_words).
CODED_DIMENSIONS = frozenset({"place_of_service", "plan_type"})

DIMENSIONS: dict[str, str] = {
    "payer_name": "Payer",
    "plan_type": "Plan type",
    "place_of_service": "Place of service",
    "rendering_npi": "Rendering provider",
}


def denial_rate_by_dimension_figure(lines: pl.DataFrame, dimension: str) -> go.Figure:
    """Initial denial rate by one segment (payer, plan type, place of service or provider)."""
    label = DIMENSIONS.get(dimension, dimension)
    lowered = label[0].lower() + label[1:]
    title = f"Initial denial rate by {lowered}"
    done = adjudicated(lines)
    if done.height == 0:
        return empty_figure(title, NO_OUTCOMES)
    segment = pl.col(dimension).cast(pl.String)
    if dimension == "rendering_npi" and "rendering_provider_name" in done.columns:
        segment = provider_label()  # the name when the claims carry one, the NPI otherwise
    frame = with_rates(
        done.group_by(segment.fill_null("(missing)").alias("segment")).agg(*denial_rate_exprs())
    ).sort("rate_count")
    if dimension in CODED_DIMENSIONS:
        frame = frame.with_columns(
            pl.col("segment").map_elements(
                lambda c: code_in_words(dimension, c), return_dtype=pl.String
            )
        )
    # Each segment keeps its own colour (theme.category_colour); dollars are the hatched twin.
    # Segments under MIN_LINES_FOR_RATE remitted lines are grey: too few lines to trust.
    colours = [
        GREY if n < MIN_LINES_FOR_RATE else category_colour(v)
        for v, n in zip(frame["segment"].to_list(), frame["lines"].to_list(), strict=True)
    ]
    frame = frame.with_columns(
        pl.when(pl.col("lines") < MIN_LINES_FOR_RATE)
        .then(pl.lit(f"<br>fewer than {MIN_LINES_FOR_RATE} lines: too few to compare (greyed)"))
        .otherwise(pl.lit(""))
        .alias("note")
    )
    fig = go.Figure()
    fig.add_bar(
        y=frame["segment"],
        x=frame["rate_count"],
        orientation="h",
        name="by count",
        marker={"color": colours, "line": {"color": "#333", "width": 0.5}},
        customdata=frame.select("lines_denied", "lines", "note").to_numpy(),
        hovertemplate="%{y}<br>by count %{x:.1%}<br>%{customdata[0]:,} of %{customdata[1]:,} "
        "lines%{customdata[2]}<extra></extra>",
    )
    fig.add_bar(
        y=frame["segment"],
        x=frame["rate_dollars"],
        orientation="h",
        name="by dollars (hatched)",
        marker={
            "color": colours,
            "pattern": {"shape": "/", "fgcolor": "#333", "solidity": 0.3},
            "line": {"color": "#333", "width": 0.5},
        },
        customdata=frame.select("charges_denied", "charges", "lines", "note").to_numpy(),
        hovertemplate="%{y}<br>by dollars %{x:.1%}<br>$%{customdata[0]:,.0f} of "
        "$%{customdata[1]:,.0f} in %{customdata[2]:,} lines%{customdata[3]}<extra></extra>",
    )
    fig.update_xaxes(tickformat=PERCENT_TICKFORMAT, rangemode="tozero")
    fig.update_yaxes(type="category")
    fig.update_layout(barmode="group")
    return styled(
        fig,
        title,
        "Initial denial rate (% of remitted lines)",
        label,
        f"Longer bars mean a {lowered} denies more of its remitted 64520 lines (solid: count, "
        f"hatched: dollars); grey bars rest on fewer than {MIN_LINES_FOR_RATE} lines.",
    )


def carc_pareto(lines: pl.DataFrame) -> pl.DataFrame:
    """Denied lines by CARC category with the CARCs behind each, sorted for a Pareto chart."""
    from dashboards.figures.common import carc_category_map

    denied = lines.filter(pl.col("denied") == 1)
    if denied.height == 0:
        return pl.DataFrame()
    categories = carc_category_map()
    descriptions = carc_descriptions()
    carc = pl.col("primary_denial_carc").cast(pl.String)
    frame = denied.with_columns(
        pl.coalesce(
            pl.col("denial_category") if "denial_category" in denied.columns else pl.lit(None),
            carc.replace_strict(categories, default=None, return_dtype=pl.String),
            pl.lit("Uncategorised"),
        ).alias("category"),
        carc.fill_null("?").alias("carc"),
    )
    rarc = pl.col("primary_rarc") if "primary_rarc" in frame.columns else pl.lit(None, pl.String)
    by_carc = frame.group_by("category", "carc").agg(
        pl.len().alias("n"),
        pl.col("charge_amount").sum().alias("charges"),
        rarc.drop_nulls().mode().sort().first().alias("rarc"),
    )
    by_carc = by_carc.with_columns(
        (
            pl.lit("CARC ")
            + pl.col("carc")
            + pl.lit(" (")
            + pl.col("n").cast(pl.String)
            + pl.lit("): ")
            + pl.col("carc").map_elements(
                lambda c: short(descriptions.get(c, "no description"), 80), return_dtype=pl.String
            )
            + pl.col("rarc")
            .map_elements(lambda r: code_in_words("rarc", r), return_dtype=pl.String)
            .map_elements(lambda t: f"<br>  most often with {t}", return_dtype=pl.String)
            .fill_null("")
        ).alias("carc_text")
    )
    out = (
        by_carc.sort("n", descending=True)
        .group_by("category", maintain_order=True)
        .agg(
            pl.col("n").sum().alias("lines_denied"),
            pl.col("charges").sum().alias("charges_denied"),
            pl.col("carc_text").head(4).str.join("<br>").alias("carcs"),
        )
        .sort("lines_denied", descending=True)
    )
    return out.with_columns(
        (pl.col("lines_denied").cum_sum() / pl.col("lines_denied").sum()).alias("cumulative_share")
    )


def carc_pareto_figure(lines: pl.DataFrame) -> go.Figure:
    """Pareto of denied lines by CARC category, with the CARC codes and descriptions on hover."""
    title = "Denial causes: Pareto by CARC category"
    frame = carc_pareto(lines)
    if frame.height == 0:
        return empty_figure(title, "No denied 64520 line matches the filters.")
    fig = go.Figure()
    fig.add_bar(
        x=frame["category"],
        y=frame["lines_denied"],
        name="denied lines",
        marker_color=[category_colour(c) for c in frame["category"].to_list()],
        customdata=frame.select("charges_denied", "carcs").to_numpy(),
        hovertemplate="<b>%{x}</b><br>%{y:,} denied lines, $%{customdata[0]:,.0f} charges"
        "<br>%{customdata[1]}<extra></extra>",
    )
    return pareto_styled(
        fig,
        frame["category"],
        frame["cumulative_share"],
        (
            title,
            "Denial category (from the primary CARC)",
            "Denied lines (count)",
            "Categories on the left cause most denials; the line shows how much of all denials "
            "the top categories explain. Hover for the CARCs and their X12 descriptions.",
        ),
    )


def dollars_denied_figure(lines: pl.DataFrame) -> go.Figure:
    """Billed charges of denied lines by service month, stacked by denial category."""
    title = "Dollars denied by service month"
    denied = lines.filter(pl.col("denied") == 1)
    if denied.height == 0:
        return empty_figure(title, "No denied 64520 line matches the filters.")
    category = pl.col("denial_category").fill_null("Uncategorised")
    # Seven colour-blind-safe colours: the seven costliest categories, the rest as one grey bar.
    top = (
        denied.group_by(category.alias("c"))
        .agg(pl.col("charge_amount").sum())
        .sort("charge_amount", descending=True)["c"]
        .head(len(OKABE_ITO) - 1)
        .to_list()
    )
    frame = (
        denied.with_columns(
            pl.when(category.is_in(top))
            .then(category)
            .otherwise(pl.lit(OTHER_CATEGORIES))
            .alias("denial_category")
        )
        .group_by("service_month", "denial_category")
        .agg(pl.col("charge_amount").sum().alias("charges"), pl.len().alias("n"))
        .sort("service_month")
    )
    fig = go.Figure()
    order = [*top, OTHER_CATEGORIES]
    for category_name in order:
        part = frame.filter(pl.col("denial_category") == category_name)
        if part.height == 0:
            continue
        fig.add_bar(
            x=part["service_month"],
            y=part["charges"],
            name=category_name,
            marker_color=GREY
            if category_name == OTHER_CATEGORIES
            else category_colour(category_name),
            customdata=part["n"].to_numpy(),
            hovertemplate=f"{category_name}<br>%{{x|%b %Y}}<br>$%{{y:,.0f}} in %{{customdata:,}} lines"
            "<extra></extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(tickformat=MONEY_TICKFORMAT)
    return styled(
        fig,
        title,
        "Service month",
        "Billed charges of denied lines (USD)",
        "Height is the billed charges of lines initially denied in each service month, split by "
        "denial category.",
    )


def reporting_month(monthly: pl.DataFrame) -> date | None:
    """Newest service month with at least half its lines remitted (else the newest with any)."""
    if monthly.height == 0:
        return None
    ready = monthly.filter(pl.col("share_adjudicated") >= REPORTING_MONTH_MIN_ADJUDICATED)
    source = ready if ready.height else monthly
    return source["service_month"].max()


NO_ACKNOWLEDGEMENTS = "no 277CA acknowledgements loaded"


def front_end_tile(lines: pl.DataFrame, month: date) -> dict[str, str]:
    """The front-end rejection rate of the reporting month, beside the denial rate."""
    label = f"Front-end rejection rate, lines ({month.strftime('%b %Y')})"
    rates = front_end_rejection_rates(lines)
    current = rates.filter(pl.col("service_month") == month)
    if current.height == 0:
        return {"label": label, "value": "—", "change": NO_ACKNOWLEDGEMENTS}
    row = current.row(0, named=True)
    earlier = rates.filter(pl.col("service_month") < month)
    previous = earlier["rate"][-1] if earlier.height else None
    change = points_change(row["rate"], previous)
    return {
        "label": label,
        "value": percent(row["rate"]),
        "change": f"{row['rejected']:,} of {row['lines']:,} lines; {change}",
    }


def kpi_tiles(lines: pl.DataFrame) -> list[dict[str, str]]:
    """KPI tiles for the reporting month with month-over-month change (label, value, change)."""
    monthly = monthly_denial_rates(lines)
    month = reporting_month(monthly)
    if month is None:
        return [{"label": "Initial denial rate", "value": "—", "change": NO_OUTCOMES}]
    current = monthly.filter(pl.col("service_month") == month).row(0, named=True)
    earlier = monthly.filter(pl.col("service_month") < month)
    previous = earlier.row(earlier.height - 1, named=True) if earlier.height else None

    def prev(key: str) -> float | None:
        return None if previous is None else previous[key]

    label_month = month.strftime("%b %Y")
    return [
        {
            "label": f"Initial denial rate, lines ({label_month})",
            "value": percent(current["rate_count"]),
            "change": points_change(current["rate_count"], prev("rate_count")),
        },
        {
            "label": f"Initial denial rate, dollars ({label_month})",
            "value": percent(current["rate_dollars"]),
            "change": points_change(current["rate_dollars"], prev("rate_dollars")),
        },
        {
            "label": f"Charges denied ({label_month})",
            "value": money(current["charges_denied"]),
            "change": money_change(current["charges_denied"], prev("charges_denied")),
        },
        {
            "label": f"Lines remitted ({label_month})",
            "value": f"{current['lines']:,}",
            "change": "no previous month"
            if previous is None
            else f"{current['lines'] - previous['lines']:+,} vs previous month",
        },
        front_end_tile(lines, month),
    ]


def kpi_indicator_figure(lines: pl.DataFrame) -> go.Figure:
    """The reporting month's denial KPIs as indicators with month-over-month deltas (for PNG)."""
    title = "Monthly summary: initial denial rate of 64520 lines"
    monthly = monthly_denial_rates(lines)
    month = reporting_month(monthly)
    if month is None:
        return empty_figure(title, NO_OUTCOMES)
    current = monthly.filter(pl.col("service_month") == month).row(0, named=True)
    earlier = monthly.filter(pl.col("service_month") < month)
    previous = earlier.row(earlier.height - 1, named=True) if earlier.height else None
    fig = go.Figure()
    # Rates are drawn ×100 so the delta reads in percentage points ("+1.2 pp"), not as a
    # percent of the rate; plotly's ".1%" delta format would show a 1.2-point rise as "1.2%".
    specs = [
        ("rate_count", "Denial rate, lines (Δ in points)", True),
        ("rate_dollars", "Denial rate, dollars (Δ in points)", True),
        ("charges_denied", "Charges denied (USD)", False),
    ]
    for i, (key, label, is_rate) in enumerate(specs):
        scale = 100.0 if is_rate else 1.0
        delta = None
        if previous is not None and previous[key] is not None:
            delta = {
                "reference": previous[key] * scale,
                "valueformat": ".1f" if is_rate else "$,.0f",
                "suffix": " pp" if is_rate else "",
                "increasing": {"color": VERMILLION},
                "decreasing": {"color": BLUE},
            }
        fig.add_trace(
            go.Indicator(
                mode="number+delta" if delta else "number",
                value=current[key] * scale,
                number={"valueformat": ".1f", "suffix": "%"}
                if is_rate
                else {"valueformat": "$,.0f"},
                delta=delta,
                title={"text": label},
                domain={"x": [i / 3 + 0.02, (i + 1) / 3 - 0.02], "y": [0, 0.8]},
            )
        )
    return styled(
        fig,
        f"{title}, {month.strftime('%B %Y')}",
        "",
        "",
        "Reporting month's initial denial rate (lines and charges) and charges denied; the delta "
        "is the change against the previous service month (red = worse).",
    )
