"""Coding and documentation page: bilateral conventions by payer, documentation vs denial, fixable errors.

Input: the snapshot's `denial_lines` with the modelling-table columns `bilateral_coding`,
`payer_bilateral_convention` and `doc_completeness` (docs/architecture.md).
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboards.figures.common import (
    carc_category_map,
    carc_descriptions,
    empty_figure,
    short,
    styled,
)
from dashboards.theme import (
    BLUE,
    MONEY_TICKFORMAT,
    PERCENT_TICKFORMAT,
    VERMILLION,
    category_colour,
)
from models.kpis import adjudicated, denial_rate_exprs, with_rates

# House definition of an avoidable ("fixable") denial (rcm-kpis.md: "needs a house taxonomy
# flag: front-end/coding/documentation = avoidable"): every category a biller or coder can fix
# before submission. Coverage, network and liability categories are not fixable by coding.
NOT_FIXABLE_CATEGORIES: frozenset[str] = frozenset(
    {
        "Non-Covered Service",
        "Patient Liability",
        "Contractual Allowance",
        "Informational",
        "Service(s) Rendered Outside of Network",
        "Level of Care",
    }
)

BILATERAL_LABELS = {
    "unilateral": "unilateral",
    "modifier_50": "modifier 50, 1 line",
    "rt_lt_two_lines": "RT + LT, two lines",
    "units_gt_1": "units > 1",
    "conflict": "conflicting modifiers",
}


def bilateral_by_payer(lines: pl.DataFrame) -> pl.DataFrame:
    """Denial rate of remitted bilateral lines by payer and whether the billing matched its convention.

    The convention is learned point in time from paid history (docs/architecture.md), so a payer
    may carry several over time; the label shows its most frequent one.
    """
    done = adjudicated(lines).filter(
        pl.col("bilateral_coding").is_not_null() & (pl.col("bilateral_coding") != "unilateral")
    )
    if done.height == 0:
        return pl.DataFrame()
    payer = pl.col("payer_name").fill_null(pl.col("payer_id"))
    convention = pl.col("payer_bilateral_convention").fill_null("unknown")
    computed = (pl.col("bilateral_coding") == convention).cast(pl.Int8)
    matches = (
        pl.coalesce(pl.col("bilateral_matches_payer_convention").cast(pl.Int8), computed)
        if "bilateral_matches_payer_convention" in done.columns
        else computed
    )
    done = done.with_columns(
        payer.alias("payer"),
        pl.when(convention == "unknown")
        .then(pl.lit("convention unknown"))
        .when(matches == 1)
        .then(pl.lit("matches the payer's convention"))
        .otherwise(pl.lit("does not match"))
        .alias("billing"),
    )
    usual = (
        done.group_by("payer", "payer_bilateral_convention")
        .len()
        .sort("len", descending=True)
        .unique("payer", keep="first")
        .select("payer", pl.col("payer_bilateral_convention").fill_null("unknown").alias("usual"))
    )
    return (
        with_rates(done.group_by("payer", "billing").agg(*denial_rate_exprs()))
        .join(usual, on="payer", how="left")
        .with_columns(
            (
                pl.col("payer")
                + pl.lit(" (pays ")
                + pl.col("usual").replace(BILATERAL_LABELS)
                + pl.lit(")")
            ).alias("payer_label")
        )
        .sort("payer_label", "billing")
    )


# Bars take their payer's colour (theme.category_colour, the same on every page); the
# billing is told by the fill pattern.
BILLING_PATTERNS = {
    "matches the payer's convention": "",
    "does not match": "x",
    "convention unknown": ".",
}


def bilateral_by_payer_figure(lines: pl.DataFrame) -> go.Figure:
    """Bars per payer: denial rate of bilateral lines billed to its convention vs not."""
    title = "Bilateral 64520: billed to the payer's convention or not, denial rate"
    if "bilateral_coding" not in lines.columns:
        return empty_figure(title, "The snapshot has no bilateral-coding feature yet.")
    frame = bilateral_by_payer(lines)
    if frame.height == 0:
        return empty_figure(title, "No remitted bilateral 64520 line matches the filters.")
    fig = go.Figure()
    for billing, pattern in BILLING_PATTERNS.items():
        part = frame.filter(pl.col("billing") == billing)
        if part.height == 0:
            continue
        fig.add_bar(
            y=part["payer_label"],
            x=part["rate_count"],
            orientation="h",
            name=billing if not pattern else f"{billing} (pattern {pattern})",
            marker={
                "color": [category_colour(p) for p in part["payer"].to_list()],
                "pattern": {"shape": pattern, "fgcolor": "#222", "solidity": 0.45},
                "line": {"color": "#222", "width": 0.5},
            },
            customdata=part.select("lines_denied", "lines", "charges_denied").to_numpy(),
            hovertemplate=f"%{{y}}<br>{billing}<br>denial rate %{{x:.1%}}<br>%{{customdata[0]:,}} "
            "of %{customdata[1]:,} bilateral lines<br>$%{customdata[2]:,.0f} charges denied"
            "<extra></extra>",
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(tickformat=PERCENT_TICKFORMAT, rangemode="tozero")
    fig.update_yaxes(type="category", categoryorder="category descending")
    return styled(
        fig,
        title,
        "Initial denial rate of remitted bilateral lines (%)",
        "Payer (usual bilateral convention)",
        "Crossed bars (billed against the payer's convention) should be the long ones: bill "
        "bilateral 64520 the way each payer pays it. Each payer keeps its colour on every page.",
    )


def doc_completeness_curve(lines: pl.DataFrame, bins: int = 10) -> pl.DataFrame:
    """Denial rate by documentation-completeness bin (equal-width bins over 0–1)."""
    done = adjudicated(lines).filter(pl.col("doc_completeness").is_not_null())
    binned = done.with_columns(
        (pl.col("doc_completeness").clip(0, 0.9999) * bins).floor().cast(pl.Int32).alias("bin")
    )
    return (
        with_rates(binned.group_by("bin").agg(*denial_rate_exprs()))
        .with_columns(((pl.col("bin") + 0.5) / bins).alias("completeness_mid"))
        .sort("bin")
    )


def doc_completeness_figure(lines: pl.DataFrame) -> go.Figure:
    """Denial rate against documentation completeness, marker size by line count."""
    title = "Documentation completeness vs initial denial rate"
    if "doc_completeness" not in lines.columns:
        return empty_figure(title, "The snapshot has no documentation-completeness feature yet.")
    frame = doc_completeness_curve(lines)
    if frame.height == 0:
        return empty_figure(title, "No remitted 64520 line with a scored note matches the filters.")
    biggest = max(frame["lines"].max() or 1, 1)
    fig = go.Figure()
    fig.add_scatter(
        x=frame["completeness_mid"],
        y=frame["rate_count"],
        mode="lines+markers",
        name="denial rate",
        line={"color": BLUE},
        marker={"size": (8 + 22 * frame["lines"] / biggest).to_list(), "color": BLUE},
        customdata=frame.select("lines_denied", "lines", "charges_denied").to_numpy(),
        hovertemplate="completeness ≈ %{x:.0%}<br>denial rate %{y:.1%}<br>%{customdata[0]:,} of "
        "%{customdata[1]:,} lines<br>$%{customdata[2]:,.0f} charges denied<extra></extra>",
    )
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(tickformat=PERCENT_TICKFORMAT, rangemode="tozero")
    return styled(
        fig,
        title,
        "Documentation completeness of the procedure note (% of required elements)",
        "Initial denial rate (% of remitted lines)",
        "Each point is a 10% band of note completeness (bigger = more lines); a falling line means "
        "complete notes get denied less.",
    )


def fixable_errors(lines: pl.DataFrame, top: int = 10) -> pl.DataFrame:
    """The most common fixable denial causes (by primary CARC) with denied charges and payment."""
    denied = lines.filter(pl.col("denied") == 1)
    if denied.height == 0:
        return pl.DataFrame()
    categories = carc_category_map()
    descriptions = carc_descriptions()
    carc = pl.col("primary_denial_carc").cast(pl.String)
    payment = (
        pl.col("expected_payment_usd") if "expected_payment_usd" in denied.columns else pl.lit(None)
    )
    frame = denied.with_columns(
        pl.coalesce(
            pl.col("denial_category"),
            carc.replace_strict(categories, default=None, return_dtype=pl.String),
            pl.lit("Uncategorised"),
        ).alias("category"),
        carc.fill_null("?").alias("carc"),
        payment.cast(pl.Float64).alias("payment"),
    ).filter(~pl.col("category").is_in(list(NOT_FIXABLE_CATEGORIES)))
    out = (
        frame.group_by("carc", "category")
        .agg(
            pl.len().alias("lines_denied"),
            pl.col("charge_amount").sum().alias("charges_denied"),
            pl.col("payment").sum().alias("expected_payment_lost"),
        )
        .sort("charges_denied", descending=True)
        .head(top)
    )
    return out.with_columns(
        pl.col("carc")
        .map_elements(
            lambda c: short(descriptions.get(c, "no description"), 110), return_dtype=pl.String
        )
        .alias("description"),
        (pl.lit("CARC ") + pl.col("carc") + pl.lit(" · ") + pl.col("category")).alias("label"),
    )


def fixable_errors_figure(lines: pl.DataFrame) -> go.Figure:
    """Horizontal bars of the fixable denial causes, by denied charges, count on hover."""
    title = "Most common fixable errors, by dollars denied"
    frame = fixable_errors(lines)
    if frame.height == 0:
        return empty_figure(title, "No fixable denial among the 64520 lines matching the filters.")
    frame = frame.sort("charges_denied")
    fig = go.Figure()
    fig.add_bar(
        y=frame["label"],
        x=frame["charges_denied"],
        orientation="h",
        name="billed charges denied",
        marker_color=VERMILLION,
        customdata=frame.select("lines_denied", "expected_payment_lost", "description").to_numpy(),
        hovertemplate="%{y}<br>$%{x:,.0f} charges denied in %{customdata[0]:,} lines"
        "<br>expected payment lost $%{customdata[1]:,.0f}<br>%{customdata[2]}<extra></extra>",
    )
    fig.update_xaxes(tickformat=MONEY_TICKFORMAT)
    fig.update_yaxes(type="category")
    return styled(
        fig,
        title,
        "Billed charges of denied lines (USD)",
        "Primary CARC · denial category",
        "Denials a coder or biller could have prevented (house definition: not coverage, network "
        "or patient liability), largest dollars at the top.",
    )
