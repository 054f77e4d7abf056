"""Helpers every figure uses: layout, one-line captions and the empty state."""

from __future__ import annotations

from functools import cache

import plotly.graph_objects as go
import polars as pl

from dashboards.theme import VERMILLION, register_template


def styled(fig: go.Figure, title: str, x_title: str, y_title: str, caption: str) -> go.Figure:
    """Apply the house template, title, axis titles (with units) and the one-line caption."""
    fig.update_layout(
        template=register_template(),
        title={"text": title},
        xaxis_title=x_title,
        yaxis_title=y_title,
        meta={"caption": caption},
        # Legend under the plot so it never covers the title, whatever the number of traces.
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
        margin={"b": 120},
    )
    return fig


def pareto_styled(
    fig: go.Figure,
    x: pl.Series,
    cumulative_share: pl.Series,
    labels: tuple[str, str, str, str],
) -> go.Figure:
    """Finish a Pareto bar chart: the cumulative-share line on a right axis, house style, and the
    legend inside the plot. `labels` are the title, x and y axis titles and the caption."""
    fig.add_scatter(
        x=x,
        y=cumulative_share,
        name="cumulative share",
        yaxis="y2",
        mode="lines+markers",
        line={"color": VERMILLION},
        hovertemplate="%{x}<br>cumulative %{y:.1%} of denied lines<extra></extra>",
    )
    fig.update_layout(
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "range": [0, 1.05],
            "dtick": 0.2,
            "tickformat": ".0%",
            "title": "Cumulative share of denied lines (%)",
        }
    )
    fig = styled(fig, *labels)
    fig.update_layout(
        legend={"x": 0.98, "y": 0.55, "xanchor": "right", "yanchor": "top", "orientation": "v"}
    )
    return fig


def caption_of(fig: go.Figure) -> str:
    """The one-line caption stored on a figure by `styled` or `empty_figure`."""
    meta = fig.layout.meta
    return meta.get("caption", "") if isinstance(meta, dict) else ""


def empty_figure(title: str, message: str) -> go.Figure:
    """An explanatory empty state: the title, no axes, and why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(
        text=wrap(message),
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 14},
    )
    fig.update_layout(
        template=register_template(),
        title={"text": title},
        xaxis={"visible": False},
        yaxis={"visible": False},
        meta={"caption": message, "empty": True},
    )
    return fig


def is_empty(fig: go.Figure) -> bool:
    """True when the figure is an empty state."""
    meta = fig.layout.meta
    return isinstance(meta, dict) and bool(meta.get("empty"))


@cache
def carc_descriptions() -> dict[str, str]:
    """CARC code → official X12 description (data_contracts/reference via codes.carc_rarc)."""
    from data_contracts.codes import carc_rarc

    frame = carc_rarc().filter(pl.col("adj_type") == "CARC")
    return dict(zip(frame["adj_code"].to_list(), frame["adj_description"].to_list(), strict=True))


@cache
def carc_category_map() -> dict[str, str]:
    """CARC code → denial category (data_contracts/reference/carc_denial_category_map.csv)."""
    from data_contracts.codes import carc_denial_categories

    frame = carc_denial_categories()
    return dict(zip(frame["adj_code"].to_list(), frame["denial_category"].to_list(), strict=True))


@cache
def rarc_descriptions() -> dict[str, str]:
    """RARC code → official X12 description (data_contracts/reference via codes.carc_rarc)."""
    from data_contracts.codes import carc_rarc

    frame = carc_rarc().filter(pl.col("adj_type") == "RARC")
    return dict(zip(frame["adj_code"].to_list(), frame["adj_description"].to_list(), strict=True))


@cache
def place_of_service_names() -> dict[str, str]:
    """Two-digit CMS place-of-service code → its name (codes.place_of_service)."""
    from data_contracts.codes import place_of_service

    frame = place_of_service()
    return dict(
        zip(frame["pos_code"].str.zfill(2).to_list(), frame["pos_name"].to_list(), strict=True)
    )


def code_in_words(kind: str, code: str | None) -> str | None:
    """A code with its meaning: place of service, plan type, CARC or RARC; unknown codes stay."""
    from data_contracts.input_contract import PLAN_TYPE_LABELS

    if code is None:
        return None
    if kind == "place_of_service":
        name = place_of_service_names().get(code.zfill(2))
        return f"{code} · {name}" if name else code
    if kind == "plan_type":
        return PLAN_TYPE_LABELS.get(code, code)
    if kind in ("carc", "rarc"):
        table = carc_descriptions() if kind == "carc" else rarc_descriptions()
        text = table.get(code)
        return f"{kind.upper()} {code}: {short(text, 80)}" if text else f"{kind.upper()} {code}"
    return code


def provider_label() -> pl.Expr:
    """A rendering provider as analysts name them: "NAME (NPI)" when the claims carry a name."""
    npi = pl.col("rendering_npi").cast(pl.String)
    name = pl.col("rendering_provider_name").cast(pl.String).str.strip_chars()
    return (
        pl.when(name.is_not_null() & (name != ""))
        .then(pl.concat_str(name, pl.lit(" ("), npi, pl.lit(")")))
        .otherwise(npi)
    )


def provider_labels(frame: pl.DataFrame) -> dict[str, str]:
    """NPI → its label (`provider_label`) for the NPIs of a frame; NPIs without a name map to themselves."""
    if "rendering_provider_name" not in frame.columns:
        return {}
    named = frame.select("rendering_npi", provider_label().alias("label")).drop_nulls(
        "rendering_npi"
    )
    return dict(named.unique("rendering_npi", keep="first").iter_rows())


def short(text: str | None, width: int = 90) -> str:
    """Shorten a long description for hover text."""
    if not text:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def wrap(text: str, width: int = 70) -> str:
    """Break a long sentence into <br>-separated lines for an SVG annotation."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    return "<br>".join(lines)
