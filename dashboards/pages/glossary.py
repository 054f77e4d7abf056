"""Glossary page: reason codes with their fix, CARC groups and categories, edits, KPI definitions."""

from __future__ import annotations

import dash
from dash import dash_table, html

from dashboards import glossary
from dashboards.components import CARD_STYLE

dash.register_page(
    __name__, path="/glossary", name="Glossary", order=5, title="Glossary · CPT 64520"
)

TABLE_STYLE = {
    "style_table": {"overflowX": "auto"},
    "style_cell": {
        "fontFamily": "Arial",
        "fontSize": "12px",
        "textAlign": "left",
        "whiteSpace": "normal",
        "height": "auto",
        "maxWidth": "520px",
    },
    "style_header": {"fontWeight": "bold"},
}


def _section(component_id: str, title: str, intro: str, rows: list[dict[str, str]]) -> html.Div:
    columns = list(rows[0]) if rows else []
    return html.Div(
        [
            html.H3(title),
            html.P(intro, style={"color": "#444"}),
            dash_table.DataTable(
                id=component_id,
                data=rows,
                columns=[{"name": c, "id": c} for c in columns],
                filter_action="native",
                sort_action="native",
                page_action="none",
                **TABLE_STYLE,
            ),
        ],
        style=CARD_STYLE,
    )


def layout(**_query) -> html.Div:
    """Built per request from the code dictionaries (no I/O at import)."""
    return html.Div(
        [
            html.H2("Glossary"),
            html.P(
                "What the codes on these pages and in the export mean. Type in a column's "
                "header row to filter.",
                style={"color": "#444"},
            ),
            _section(
                "glossary-reasons",
                "Reason codes",
                "Why the model rates a pending line risky (reason_1 to reason_3 in the work "
                "queue and the export), and what to change before the claim goes out.",
                glossary.reason_rows(),
            ),
            _section(
                "glossary-groups",
                "CARC group codes",
                "The group code of each remittance adjustment (X12 835 CAS segment). CARCs that "
                f"adjust payment without denying the line: {glossary.non_denial_carcs_text()}.",
                glossary.group_code_rows(),
            ),
            _section(
                "glossary-categories",
                "Denial categories (CARC groups)",
                "How the Denials page groups claim adjustment reason codes; RARCs add detail "
                "to a CARC and are shown in the hovers.",
                glossary.denial_category_rows(),
            ),
            _section(
                "glossary-edits",
                "Pre-submission edits",
                "Deterministic checks of a claim before it goes out (denial-risk score and the "
                "HTTP service); sources and follow-up actions are in docs/edits.md.",
                glossary.edit_rows(),
            ),
            _section(
                "glossary-kpis",
                "KPIs",
                "How the figures on the pages, in the report and in the monthly KPI table are "
                "computed (one definition: models/kpis.py).",
                glossary.kpi_rows(),
            ),
        ]
    )
