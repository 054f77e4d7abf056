"""An analyst's first week in real headless Chromium: freshness, the HFMA line, counts, colours, search."""

from __future__ import annotations

import polars as pl
import pytest
from browser_helpers import PAGES, open_page, trace_values

from dashboards.figures.denials import INCOMPLETE_MONTH_LABEL
from dashboards.snapshot import read_table
from dashboards.theme import category_colour

pytestmark = pytest.mark.browser

HFMA_TRACE = 2
MARKER_COLOURS_JS = """([id, trace]) => {
  const el = document.querySelector('#' + id + ' .js-plotly-plot');
  const t = el._fullData[trace];
  return {y: Array.from(t.y).map(String), colours: Array.from(t.marker.color).map(String)};
}"""


def test_denials_freshness_hfma_window_and_incomplete_month(browser, dashboard_url):
    visit = open_page(browser, dashboard_url + "/", PAGES["denials"][1])
    page = visit.page
    status = page.locator("#denials-status")
    page.wait_for_function("document.querySelector('#denials-status .freshness') !== null")
    text = status.text_content()
    assert "Newest service date: 2025-12-20" in text and "v20260101T000000" in text
    assert "Filters on: none" in text
    # December is the month in progress: shaded on the chart, absent from the Task Force line.
    annotations = page.locator("#denials-by-month .annotation-text").all_text_contents()
    assert INCOMPLETE_MONTH_LABEL in annotations
    months_before = trace_values(page, "denials-by-month", HFMA_TRACE, "x")
    assert months_before and max(months_before) < "2025-12"
    # The date picker's start input carries the component id.
    page.fill("input#denials-dates", "2025-06-01")
    page.press("input#denials-dates", "Enter")
    page.keyboard.press("Escape")
    page.wait_for_function(
        "document.querySelector('#denials-status .active-filters').textContent"
        ".includes('Service from: 2025-06-01')"
    )
    page.wait_for_function(
        f"""() => {{
          const el = document.querySelector('#denials-by-month .js-plotly-plot');
          return el._fullData[{HFMA_TRACE}] &&
            Array.from(el._fullData[{HFMA_TRACE}].x).every(x => String(x) >= '2025-06');
        }}"""
    )
    months_after = trace_values(page, "denials-by-month", HFMA_TRACE, "x")
    rates_after = [float(v) for v in trace_values(page, "denials-by-month", HFMA_TRACE, "y")]
    assert months_after != months_before and min(months_after) >= "2025-06"
    # The window moves the reporting months, not the denominator: no 600% any more.
    assert rates_after and max(rates_after) < 1.0
    assert visit.console_errors == []
    page.context.close()


def test_rates_show_counts_and_a_payer_keeps_its_colour(browser, dashboard_url):
    visit = open_page(browser, dashboard_url + "/", PAGES["denials"][1])
    page = visit.page
    bar = page.locator("#denials-by-payer .bars .point path").first
    bar.scroll_into_view_if_needed()
    # The plot's drag layer covers the bars; plotly computes the hover from the mouse position.
    bar.hover(force=True)
    hover = page.locator("#denials-by-payer .hoverlayer .hovertext").first
    hover.wait_for()
    assert " of " in hover.text_content() and "lines" in hover.text_content()
    denials = page.evaluate(MARKER_COLOURS_JS, ["denials-by-payer", 0])
    colour_on_denials = dict(zip(denials["y"], denials["colours"], strict=True))
    assert colour_on_denials["Medicare Part B"] == category_colour("Medicare Part B")
    page.context.close()

    visit = open_page(browser, dashboard_url + "/coding", PAGES["coding"][1])
    page = visit.page
    coding = page.evaluate(MARKER_COLOURS_JS, ["coding-bilateral", 0])
    medicare = {c for y, c in zip(coding["y"], coding["colours"], strict=True) if "Medicare" in y}
    assert medicare == {colour_on_denials["Medicare Part B"]}
    assert visit.console_errors == []
    page.context.close()


def test_work_queue_claim_search_finds_a_line(browser, dashboard_url, snapshot_file):
    queue = read_table(snapshot_file, "work_queue")
    wanted = queue.sort("claim_id")["claim_id"][3]
    n_lines = queue.filter(pl.col("claim_id") == wanted).height
    visit = open_page(browser, dashboard_url + "/work-queue", PAGES["work_queue"][1])
    page = visit.page
    page.wait_for_selector("#work-queue-table td")
    page.fill("#work-queue-search", wanted)
    page.press("#work-queue-search", "Enter")
    page.wait_for_function(
        f"document.querySelectorAll('#work-queue-table tbody tr td[data-dash-column=\"claim_id\"]')"
        f".length === {n_lines}"
    )
    cells = page.locator('#work-queue-table td[data-dash-column="claim_id"]').all_text_contents()
    assert set(cells) == {wanted}
    headers = " ".join(page.locator("#work-queue-table th").all_text_contents())
    for column in ("modifier 1", "units", "primary diagnosis", "days to filing limit", "action 2"):
        assert column in headers
    # The status bar is its own callback: wait for it rather than read it mid-update.
    page.wait_for_function(
        "document.querySelector('#work-queue-status .active-filters').textContent"
        f".includes('Claim id contains: {wanted}')"
    )
    assert visit.console_errors == []
    page.context.close()
