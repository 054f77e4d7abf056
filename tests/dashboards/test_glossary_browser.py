"""The Glossary page and the reason-code hover of the work queue, in real headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_helpers import PAGES, open_page

from dashboards.glossary import edit_rows, kpi_rows, reason_hovers
from models.edits import EDIT_CHECKS
from models.kpis import KPI_DEFINITIONS
from models.reasons import REASONS

EDITS_DOC = Path(__file__).resolve().parents[2] / "docs" / "edits.md"

TABLE_JS = """(id) => Array.from(document.querySelectorAll('#' + id + ' tbody tr'))
  .map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.textContent))
  .filter(cells => cells.length > 0)"""


def documented_edit_codes() -> list[str]:
    """The codes of docs/edits.md's "Edit codes" table, in order."""
    return re.findall(r"^\| `([A-Z_0-9]+)` \|", EDITS_DOC.read_text(), flags=re.MULTILINE)


def test_glossary_lists_every_documented_edit_and_kpi() -> None:
    documented = documented_edit_codes()
    assert len(documented) >= 18
    assert sorted(EDIT_CHECKS) == sorted(documented)
    assert [r["code"] for r in edit_rows()] == list(EDIT_CHECKS)
    assert {r["KPI"] for r in kpi_rows()} >= set(KPI_DEFINITIONS) | {"Priority"}
    hover = reason_hovers()["AUTH01"]
    assert REASONS["PRIOR_AUTH"].sentence in hover and REASONS["PRIOR_AUTH"].fix in hover


@pytest.mark.browser
def test_glossary_page_shows_reasons_groups_edits_and_kpis(browser, dashboard_url):
    visit = open_page(browser, dashboard_url + "/glossary", ())
    page = visit.page
    page.wait_for_selector("#glossary-kpis tbody td")
    reasons = page.evaluate(TABLE_JS, "glossary-reasons")
    assert [row[0] for row in reasons] == [r.code for r in REASONS.values()]
    bil01 = next(row for row in reasons if row[0] == "BIL01")
    assert bil01[2] == REASONS["BILATERAL_UNITS"].sentence
    assert bil01[3] == REASONS["BILATERAL_UNITS"].fix
    groups = {row[0]: row for row in page.evaluate(TABLE_JS, "glossary-groups")}
    assert list(groups) == ["CO", "PR", "OA", "PI", "CR"]
    assert groups["CO"][1] == "Contractual Obligations"
    assert "not a denial" in groups["PR"][2]
    categories = {row[0]: row[1] for row in page.evaluate(TABLE_JS, "glossary-categories")}
    assert "97: The benefit for this service is included" in categories["Bundling"]
    edits = [row[0] for row in page.evaluate(TABLE_JS, "glossary-edits")]
    assert sorted(edits) == sorted(documented_edit_codes())
    kpis = {row[0]: row[1] for row in page.evaluate(TABLE_JS, "glossary-kpis")}
    assert "3 months before" in kpis["HFMA Task Force rate (3-month)"]
    # The header filter narrows a table to what the analyst types.
    page.locator("#glossary-reasons th.dash-filter[data-dash-column='code'] input[type=text]").fill(
        "AUTH"
    )
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelectorAll('#glossary-reasons tbody tr td').length === 4"
    )
    assert page.evaluate(TABLE_JS, "glossary-reasons")[0][0] == "AUTH01"
    assert page.locator("#nav-glossary").count() == 1
    assert visit.console_errors == []
    page.context.close()


@pytest.mark.browser
def test_work_queue_reason_code_explains_itself_on_hover(browser, dashboard_url):
    visit = open_page(browser, dashboard_url + "/work-queue", PAGES["work_queue"][1])
    page = visit.page
    cell = page.locator("#work-queue-table td[data-dash-column='reason_1']").first
    cell.wait_for()
    code = cell.text_content().strip()
    reason = next(r for r in REASONS.values() if r.code == code)
    cell.hover()
    tooltip = page.locator("#work-queue-table .dash-table-tooltip")
    tooltip.wait_for(state="visible")
    text = tooltip.text_content()
    assert code in text and reason.sentence in text and reason.fix in text
    # The expected-loss figure says what the code means too.
    meaning = page.evaluate(
        "() => Array.from(document.querySelector('#work-queue-by-reason .js-plotly-plot')"
        "._fullData[0].customdata).map(row => String(row[1]))"
    )
    assert any(m and m[:40] in {r.sentence[:40] for r in REASONS.values()} for m in meaning)
    assert visit.console_errors == []
    page.context.close()
