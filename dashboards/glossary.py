"""The glossary an analyst reads codes with: reason codes, CARC groups and categories, edits, KPIs.

Nothing is written here twice: reason codes, their text and action come from the reason
dictionary (`models/reasons.py`), group codes and CARC descriptions from the X12 reference table
(`data_contracts/reference/carc_rarc_group_codes.csv`), denial categories from
`carc_denial_category_map.csv`, edits from `models/edits.py` and KPIs from `models/kpis.py`.
"""

from __future__ import annotations

from functools import cache

import polars as pl

from dashboards.figures.common import carc_category_map, carc_descriptions, short
from dashboards.figures.work_queue import URGENT_WINDOW_DAYS
from data_contracts.input_contract import GROUP_CODES
from data_contracts.label import DENIAL_GROUP_CODES, NON_DENIAL_CARCS
from models.edits import EDIT_CHECKS
from models.kpis import KPI_DEFINITIONS
from models.reasons import REASONS

# Work-queue figures defined on the page that draws them (dashboards/figures/work_queue.py).
QUEUE_DEFINITIONS: dict[str, tuple[str, str]] = {
    "Priority": (
        f"expected loss × urgency; urgency is 1 with {URGENT_WINDOW_DAYS} or more days left "
        "before the payer's filing limit (or an unknown limit) and rises to 2 at zero days left",
        "work queue (house definition)",
    ),
    "Days to filing limit": (
        "the payer's filing limit in days minus the days from service to the day the line was "
        "scored; negative when the limit has passed",
        "work queue (house definition)",
    ),
}


def reason_rows() -> list[dict[str, str]]:
    """Reason code, group, what it means and what to do, in the reason dictionary's order."""
    return [
        {"code": r.code, "group": group, "meaning": r.sentence, "action": r.fix}
        for group, r in REASONS.items()
    ]


@cache
def reason_hovers() -> dict[str, str]:
    """Reason code → the hover text of the work queue (meaning, then the fix)."""
    return {r.code: f"**{r.code}**: {r.sentence}.\n\nFix: {r.fix}." for r in REASONS.values()}


def group_code_rows() -> list[dict[str, str]]:
    """CARC group codes (CO, PR, OA, PI, CR) with their X12 name and how the label reads them."""
    from data_contracts.codes import carc_rarc

    groups = carc_rarc().filter(pl.col("adj_type") == "Group")
    names = dict(
        zip(groups["adj_code"].to_list(), groups["adj_description"].to_list(), strict=True)
    )
    rows = []
    for code in GROUP_CODES:
        if code in DENIAL_GROUP_CODES:
            role = "a zero-paid line with this group and a denial CARC is a denial"
        elif code == "PR":
            role = "patient responsibility: a zero payment from PR-1/2/3 alone is not a denial"
        else:
            role = "corrections and reversals: not a denial"
        rows.append({"code": code, "name": names.get(code, ""), "in the label": role})
    return rows


def denial_category_rows() -> list[dict[str, str]]:
    """Denial categories with the CARCs mapped to each and their descriptions (shortened)."""
    descriptions = carc_descriptions()
    by_category: dict[str, list[str]] = {}
    for carc, category in carc_category_map().items():
        by_category.setdefault(category.strip(), []).append(carc)
    return [
        {
            "category": category,
            "CARCs": "; ".join(
                f"{c}: {short(descriptions.get(c, 'no description'), 70)}"
                for c in sorted(carcs, key=lambda c: (len(c), c))
            ),
        }
        for category, carcs in sorted(by_category.items())
    ]


def non_denial_carcs_text() -> str:
    """The CARCs that adjust payment without denying the line (data_contracts/label.py)."""
    return ", ".join(sorted(NON_DENIAL_CARCS, key=lambda c: (len(c), c)))


def edit_rows() -> list[dict[str, str]]:
    """Pre-submission edit codes and what each checks (docs/edits.md has sources and actions)."""
    return [{"code": code, "checks": text} for code, text in EDIT_CHECKS.items()]


def kpi_rows() -> list[dict[str, str]]:
    """Every KPI and work-queue figure with its definition and source."""
    return [
        {"KPI": name, "definition": definition, "source": source}
        for name, (definition, source) in {**KPI_DEFINITIONS, **QUEUE_DEFINITIONS}.items()
    ]
