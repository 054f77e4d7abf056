"""Regenerate docs/img/*.png: every dashboard page in headless Chromium.

    uv run python tests/dashboards/make_screenshots.py [--snapshot data/published/snapshot.duckdb]

Without --snapshot it builds the stand-in test world (dashboard_world.py) with more lines.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from browser_helpers import PAGES, REPO, open_page, serve_dashboard  # noqa: E402
from dashboard_world import build_warehouse  # noqa: E402

from dashboards.snapshot import publish_snapshot  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]


def main() -> None:
    """Screenshot each page into the output folder."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--snapshot", type=Path)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--lines", type=int, default=4000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        snapshot = args.snapshot
        if snapshot is None:
            warehouse = build_warehouse(Path(tmp) / "warehouse.duckdb", n_lines=args.lines)
            snapshot = publish_snapshot(warehouse, Path(tmp) / "snapshot.duckdb")
        args.out.mkdir(parents=True, exist_ok=True)
        with serve_dashboard(snapshot, Path(tmp) / "app.log") as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for name, (path, graphs) in PAGES.items():
                visit = open_page(browser, url + path, graphs, timeout_ms=120_000)
                visit.page.wait_for_timeout(500)
                target = args.out / f"{name}.png"
                visit.page.screenshot(path=target, full_page=True)
                logging.info("wrote %s (console errors: %d)", target, len(visit.console_errors))
                visit.page.context.close()
            browser.close()


if __name__ == "__main__":
    main()
