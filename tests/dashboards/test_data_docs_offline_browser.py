"""The real Data Docs of a contract run render in headless Chromium with the network off."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from data_contracts.expectations import scores
from data_contracts.validation import run_contract, table_columns

pytestmark = pytest.mark.browser

REMOTE_RESOURCE = re.compile(r"<(script|link|img)\b[^>]*(src|href)=\"https?://", re.IGNORECASE)
RESULTS_TABLE = ".ge-index-page-validation-results-table tbody tr"


def test_data_docs_render_with_network_disabled(browser, warehouse: Path, tmp_path: Path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        contract = scores.contract(table_columns(con, "risk_scores"))
        index = run_contract(con, contract, "offline-test", tmp_path / "data_docs").data_docs_index
    assert index is not None
    pages = [p for p in index.parent.rglob("*.html") if ".gx_stores" not in p.parts]
    assert len(pages) >= 3
    for page_file in pages:
        assert REMOTE_RESOURCE.search(page_file.read_text()) is None, page_file

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_offline(True)
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} {m.location['url']}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(index.as_uri())
    # bootstrap-table (a local copy now) draws the results table from the page's data.
    page.wait_for_selector(RESULTS_TABLE)
    light_background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    row = page.locator(RESULTS_TABLE).first
    assert "risk_scores" in row.text_content()
    # Font Awesome's solid font is loaded from the shipped copy: the status icons show.
    families = page.evaluate(
        "async () => { await document.fonts.ready; return Array.from(document.fonts)"
        ".filter(f => f.status === 'loaded').map(f => f.family); }"
    )
    assert any("Font Awesome" in f for f in families)
    # A click on the row opens the validation page (bootstrap-table's row handler).
    row.click()
    page.wait_for_url(re.compile(r".*/validations/.*\.html"))
    page.wait_for_selector("text=risk_scores")
    assert page.locator("table").count() >= 1
    assert failed == []
    assert errors == []
    assert requests and all(u.startswith("file://") or u.startswith("data:") for u in requests)
    context.close()

    # A reader whose system prefers dark gets the dark theme offline too (bootstrap-dark's
    # body colour #191d21), not the light page.
    dark = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="dark")
    dark.set_offline(True)
    dark_page = dark.new_page()
    dark_failed: list[str] = []
    dark_page.on("requestfailed", lambda r: dark_failed.append(r.url))
    dark_page.goto(index.as_uri())
    dark_page.wait_for_selector(RESULTS_TABLE)
    dark_background = dark_page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark_background == "rgb(25, 29, 33)"
    assert light_background != dark_background
    assert dark_failed == []
    dark.close()
