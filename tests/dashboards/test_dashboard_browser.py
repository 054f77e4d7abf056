"""The dashboards in real headless Chromium: pages, filters, CSV download, report and Data Docs."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest
from browser_helpers import PAGES, graph_state, open_page, trace_values

from dashboards.report import write_report
from dashboards.snapshot import publish_snapshot, read_table
from data_contracts.expectations import scores
from data_contracts.validation import run_contract, table_columns

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_with_figures_and_no_console_errors(browser, dashboard_url, artifacts, name):
    path, graphs = PAGES[name]
    visit = open_page(browser, dashboard_url + path, graphs)
    page = visit.page
    page.wait_for_timeout(300)
    titles = [t.text_content() for t in page.locator(".js-plotly-plot .gtitle").all()]
    assert len(titles) == len(graphs) and all(titles)
    for graph in graphs:
        state = graph_state(page, graph)
        assert not state["empty"], graph
        assert state["traces"] > 0 and state["points"] > 0, graph
        assert state["xTitle"] and state["yTitle"], graph
        caption = page.locator(f"#{graph}-caption").text_content()
        assert caption and len(caption) > 30, graph
    assert visit.console_errors == []
    # Served locally: no request leaves 127.0.0.1 (no CDN, no telemetry).
    assert {u.split("/")[2].split(":")[0] for u in visit.requests} == {"127.0.0.1"}
    if name == "denials":
        tiles = page.locator(".kpi-tile").all()
        assert len(tiles) == 5
        assert "vs previous month" in tiles[0].text_content()
        assert tiles[0].locator(".kpi-value").text_content().endswith("%")
        assert tiles[2].locator(".kpi-value").text_content().startswith("$")
        # No 277CA in this world: the front-end rejection rate is unknown, not 0%.
        assert "Front-end rejection rate" in tiles[4].text_content()
        assert tiles[4].locator(".kpi-value").text_content() == "—"
        assert "no 277CA acknowledgements loaded" in tiles[4].text_content()
    if name == "model":
        assert "Drift alerts" in page.locator("#model-alerts").text_content()
    page.screenshot(path=artifacts / f"{name}.png", full_page=True)
    page.context.close()


def test_payer_filter_changes_every_figure(browser, dashboard_url):
    visit = open_page(browser, dashboard_url + "/", PAGES["denials"][1])
    page = visit.page
    payers_before = trace_values(page, "denials-by-payer", 0, "y")
    month_before = trace_values(page, "denials-by-month", 0, "y")
    page.click("#denials-payer")
    page.get_by_role("option", name="Medicare Part B (MCR01)").click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "document.querySelector('#denials-by-payer .js-plotly-plot').data[0].y.length === 1"
    )
    assert trace_values(page, "denials-by-payer", 0, "y") == ["Medicare Part B"]
    assert len(payers_before) == 4
    # The filter applies to the whole page: the monthly rate is now Medicare's alone.
    assert trace_values(page, "denials-by-month", 0, "y") != month_before
    assert trace_values(page, "denials-by-plan", 0, "y") == ["Medicare (fee for service)"]
    assert visit.console_errors == []
    page.context.close()


def test_work_queue_csv_download(browser, dashboard_url, snapshot_file, tmp_path):
    visit = open_page(browser, dashboard_url + "/work-queue", PAGES["work_queue"][1])
    page = visit.page
    page.wait_for_selector("#work-queue-table td")
    with page.expect_download() as info:
        page.click("#work-queue-download-button")
    download = info.value
    assert download.suggested_filename.startswith(
        "work_queue_"
    ) and download.suggested_filename.endswith(".csv")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    rows = list(csv.DictReader(target.open()))
    queue = read_table(snapshot_file, "work_queue")
    assert len(rows) == queue.height
    # Ranked by expected loss × urgency (days left to file), money in cents.
    priorities = [float(r["priority"]) for r in rows]
    assert priorities == sorted(priorities, reverse=True)
    assert all(len(r["expected_loss_usd"].partition(".")[2]) <= 2 for r in rows)
    assert {"reasons", "recommended_action", "action_1", "days_to_filing_limit"} <= set(rows[0])
    assert "patient_key" not in rows[0]
    assert visit.console_errors == []
    page.context.close()


def test_work_queue_band_filter_narrows_the_download(
    browser, dashboard_url, snapshot_file, tmp_path
):
    visit = open_page(browser, dashboard_url + "/work-queue", PAGES["work_queue"][1])
    page = visit.page
    page.click("#work-queue-band")
    page.get_by_role("option", name="high", exact=True).click()
    page.keyboard.press("Escape")
    queue = read_table(snapshot_file, "work_queue")
    n_high = queue.filter(queue["risk_band"] == "high").height
    page.wait_for_function(
        f"document.querySelector('#work-queue-totals').textContent.includes('{n_high:,}')"
    )
    with page.expect_download() as info:
        page.click("#work-queue-download-button")
    target = tmp_path / "high.csv"
    info.value.save_as(target)
    rows = list(csv.DictReader(target.open()))
    assert len(rows) == n_high and {r["risk_band"] for r in rows} == {"high"}
    page.context.close()


def test_empty_snapshot_shows_explanations_not_errors(
    browser, dashboard_url, snapshot_file, warehouse, bare_warehouse, artifacts
):
    """A run without outcomes or a model publishes over the live app: pages explain, never crash."""
    publish_snapshot(bare_warehouse, snapshot_file)
    try:
        for name, (path, graphs) in PAGES.items():
            visit = open_page(browser, dashboard_url + path, graphs)
            page = visit.page
            states = [graph_state(page, g) for g in graphs]
            assert all(s["empty"] for s in states), name
            for graph in graphs:
                # The empty state says why: the same sentence is the annotation and the caption.
                caption = page.locator(f"#{graph}-caption").text_content()
                annotation = page.locator(f"#{graph} .annotation-text").text_content()
                assert caption and caption.replace(" ", "") == annotation.replace(" ", "")
            assert visit.console_errors == [], name
            page.screenshot(path=artifacts / f"empty_{name}.png", full_page=True)
            page.context.close()
    finally:
        publish_snapshot(warehouse, snapshot_file)


def real_data_docs(warehouse: Path, folder: Path) -> Path:
    """Data Docs built by the real scores contract on a copy of the dashboards' warehouse."""
    copy = folder / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        contract = scores.contract(table_columns(con, "risk_scores"))
        outcome = run_contract(con, contract, "browser-test", folder / "data_docs")
    assert outcome.data_docs_index is not None
    return outcome.data_docs_index


def test_static_report_and_data_docs_open_from_files(
    browser, snapshot_file, warehouse, tmp_path, artifacts
):
    report = write_report(snapshot_file, tmp_path / "reports", png=False)
    data_docs = real_data_docs(warehouse, tmp_path)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.html_path.as_uri())
    page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .gtitle').length === {report.figures}"
    )
    titles = [t.text_content() for t in page.locator(".js-plotly-plot .gtitle").all()]
    assert "Initial denial rate of 64520 lines by service month" in titles
    # Denial rate by lines and by dollars, charges denied, lines remitted, front-end rejection rate.
    assert page.locator(".tile").count() == 5
    assert "Front-end rejection rate" in page.locator("body").text_content()
    assert errors == []
    # Self-contained: nothing but the file itself is loaded.
    assert all(u.startswith("file://") or u.startswith("data:") for u in requests)
    page.screenshot(path=artifacts / "static_report.png")
    page.goto(data_docs.as_uri())
    assert page.title() == "Data Docs created by Great Expectations"
    assert "risk_scores" in page.locator("body").text_content()
    context.close()
