"""Providers by name: the name the claims carry, the NPI otherwise (figures, filters, work queue)."""

from __future__ import annotations

import polars as pl
import pytest
from browser_helpers import PAGES, open_page, trace_values

from dashboards.figures import denials
from dashboards.figures.common import provider_label, provider_labels
from tests.dashboards.dashboard_world import PROVIDER_NAMES, PROVIDERS


def test_provider_label_prefers_the_name_and_falls_back_to_the_npi() -> None:
    frame = pl.DataFrame(
        {
            "rendering_npi": ["1234567893", "1457392811", "1689012345"],
            "rendering_provider_name": ["KOVAC, KEIKO", "  ", None],
        }
    )
    assert frame.select(provider_label().alias("label"))["label"].to_list() == [
        "KOVAC, KEIKO (1234567893)",
        "1457392811",
        "1689012345",
    ]
    assert provider_labels(frame)["1234567893"] == "KOVAC, KEIKO (1234567893)"
    assert provider_labels(frame.drop("rendering_provider_name")) == {}


def test_provider_figure_names_segments_and_keeps_npis_apart() -> None:
    lines = pl.DataFrame(
        {
            "rendering_npi": ["1", "1", "2", "3"],
            # Two NPIs under one name stay two bars: the NPI is part of the label.
            "rendering_provider_name": ["SAME, NAME", "SAME, NAME", "SAME, NAME", None],
            "denied": [1, 0, 1, 0],
            "charge_amount": [100.0, 100.0, 100.0, 100.0],
        }
    )
    bars = denials.denial_rate_by_dimension_figure(lines, "rendering_npi").data[0]
    rates = dict(zip(bars.y, bars.x, strict=True))
    assert rates == {"SAME, NAME (1)": 0.5, "SAME, NAME (2)": 1.0, "3": 0.0}


@pytest.mark.browser
def test_pages_show_provider_names_or_npis(browser, dashboard_url):
    visit = open_page(browser, dashboard_url + "/", PAGES["denials"][1])
    page = visit.page
    segments = set(trace_values(page, "denials-by-provider", 0, "y"))
    expected = {f"{PROVIDER_NAMES[n]} ({n})" if n in PROVIDER_NAMES else n for n in PROVIDERS}
    assert segments == expected
    # The provider filter offers names too (the NPI alone when there is none) and filters by NPI.
    page.click("#denials-provider")
    assert page.get_by_role("option", name="1689012345", exact=True).count() == 1
    page.get_by_role("option", name="KOVAC, KEIKO (1234567893)").click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "document.querySelector('#denials-by-provider .js-plotly-plot').data[0].y.length === 1"
    )
    assert trace_values(page, "denials-by-provider", 0, "y") == ["KOVAC, KEIKO (1234567893)"]
    page.context.close()

    visit = open_page(browser, dashboard_url + "/work-queue", PAGES["work_queue"][1])
    page = visit.page
    page.wait_for_selector("#work-queue-table td[data-dash-column='rendering_provider_name']")
    headers = page.locator("#work-queue-table th").all_text_contents()
    assert any("rendering provider name" in h for h in headers)
    names = set(
        page.locator(
            "#work-queue-table td[data-dash-column='rendering_provider_name']"
        ).all_text_contents()
    )
    assert names <= {*PROVIDER_NAMES.values(), ""} and names & set(PROVIDER_NAMES.values())
    assert visit.console_errors == []
    page.context.close()
