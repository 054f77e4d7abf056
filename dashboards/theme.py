"""Colour-blind-safe palette (Okabe-Ito) and money / percent formats shared by app and report."""

from __future__ import annotations

import hashlib
import math

import plotly.graph_objects as go
import plotly.io as pio

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision
# deficiencies; black is kept last so it is used only when the other seven are taken.
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",
)
BLUE, VERMILLION, GREEN, ORANGE, SKY, PURPLE, GREY = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#E69F00",
    "#56B4E9",
    "#CC79A7",
    "#999999",
)
BAND_COLOURS = {"high": VERMILLION, "medium": ORANGE, "low": SKY}

TEMPLATE_NAME = "denial_risk"

MONEY_TICKFORMAT = "$,.0f"
PERCENT_TICKFORMAT = ".1%"
MONEY_HOVER = ":$,.2f"
PERCENT_HOVER = ":.1%"


def register_template() -> str:
    """Register (once) and return the plotly template with the palette and readable defaults."""
    if TEMPLATE_NAME not in pio.templates:
        template = go.layout.Template(pio.templates["plotly_white"])
        template.layout.colorway = list(OKABE_ITO)
        template.layout.font = {"family": "Arial, Helvetica, sans-serif", "size": 12}
        template.layout.title = {"x": 0.01, "xanchor": "left", "font": {"size": 15}}
        template.layout.margin = {"l": 60, "r": 20, "t": 60, "b": 55}
        template.layout.hoverlabel = {"namelength": -1}
        pio.templates[TEMPLATE_NAME] = template
    return TEMPLATE_NAME


def money(value: float | None, decimals: int = 0) -> str:
    """US dollars with thousands separators; an em dash for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{decimals}f}"


def percent(value: float | None, decimals: int = 1) -> str:
    """A 0–1 share as a percentage; an em dash for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.{decimals}f}%"


def points_change(current: float | None, previous: float | None) -> str:
    """Change of a rate in percentage points, signed (e.g. '+1.2 pp')."""
    if current is None or previous is None:
        return "no previous month"
    return f"{(current - previous) * 100:+.1f} pp vs previous month"


def money_change(current: float | None, previous: float | None) -> str:
    """Signed dollar change against the previous month."""
    if current is None or previous is None:
        return "no previous month"
    delta = current - previous
    return f"{'+' if delta >= 0 else '-'}{money(abs(delta))} vs previous month"


# Colours a category value may take: Okabe-Ito without black (kept for text) and without the
# grey that marks low-volume bars.
CATEGORY_PALETTE: tuple[str, ...] = OKABE_ITO[:-1]


def category_colour(value: str | None) -> str:
    """The one colour of a category value (payer, CARC group, ...) on every page and filter.

    Keyed by the value itself (a stable hash), never by its position in a chart, so filtering
    a payer out cannot shift the colours of the others. Two values may share a colour when
    there are more than seven; the legend and hover still name them.
    """
    if value is None:
        return GREY
    digest = hashlib.sha256(str(value).encode("utf-8")).digest()
    return CATEGORY_PALETTE[int.from_bytes(digest[:4], "big") % len(CATEGORY_PALETTE)]
