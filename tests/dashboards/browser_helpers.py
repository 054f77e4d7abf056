"""Playwright helpers shared by the browser tests and the screenshot script."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 60

PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "denials": (
        "/",
        (
            "denials-by-month",
            "denials-pareto",
            "denials-dollars",
            "denials-by-payer",
            "denials-by-plan",
            "denials-by-pos",
            "denials-by-provider",
        ),
    ),
    "coding": ("/coding", ("coding-bilateral", "coding-documentation", "coding-fixable")),
    "model": (
        "/model",
        (
            "model-roc",
            "model-pr",
            "model-calibration",
            "model-lift",
            "model-scores",
            "model-oracle",
            "model-realized",
            "model-drift",
            "model-policy-drift",
        ),
    ),
    "work_queue": ("/work-queue", ("work-queue-by-reason",)),
    "remittances": ("/remittances", ("remittances-by-month", "remittances-pareto")),
}

# Every graph has a rendered figure with a non-empty title (plotly titles are SVG text).
RENDERED_JS = """(ids) => ids.every(id => {
  const el = document.querySelector('#' + id + ' .js-plotly-plot');
  const title = el && el.querySelector('.gtitle');
  return el && el.data && title && title.textContent.length > 0;
}) && !document.querySelector('[data-dash-is-loading="true"]')"""

# calcdata holds the points plotly actually computed (el.data may still be base64 typed arrays).
GRAPH_STATE_JS = """(id) => {
  const el = document.querySelector('#' + id + ' .js-plotly-plot');
  const meta = el.layout.meta || {};
  return {
    traces: el.data.length,
    points: (el.calcdata || []).reduce((n, cd) => n + cd.length, 0),
    empty: Boolean(meta.empty),
    xTitle: el.layout.xaxis && el.layout.xaxis.title ? el.layout.xaxis.title.text : null,
    yTitle: el.layout.yaxis && el.layout.yaxis.title ? el.layout.yaxis.title.text : null,
  };
}"""

TRACE_VALUES_JS = """([id, trace, axis]) => {
  const el = document.querySelector('#' + id + ' .js-plotly-plot');
  return Array.from(el._fullData[trace][axis]).map(String);
}"""


@dataclass
class PageVisit:
    """An opened page with what the browser reported while loading it."""

    page: object
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def open_page(browser, url: str, graph_ids: tuple[str, ...], timeout_ms: int = 30_000) -> PageVisit:
    """Open a dashboard page and wait until every graph has rendered its figure."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    visit = PageVisit(page=page)
    page.on(
        "console",
        lambda m: visit.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: visit.console_errors.append(str(e)))
    page.on("request", lambda r: visit.requests.append(r.url))
    page.goto(url)
    page.wait_for_function(RENDERED_JS, arg=list(graph_ids), timeout=timeout_ms)
    return visit


def trace_values(page, graph_id: str, trace: int, axis: str) -> list[str]:
    """The values plotly drew on one axis of one trace, as strings."""
    return page.evaluate(TRACE_VALUES_JS, [graph_id, trace, axis])


def graph_state(page, graph_id: str) -> dict:
    """Traces, data points, empty flag and axis titles of one rendered graph."""
    return page.evaluate(GRAPH_STATE_JS, graph_id)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_dashboard(snapshot: Path, log_path: Path) -> Iterator[str]:
    """Run the Dash app in a subprocess on a free port; stopped (terminate, then kill) on exit."""
    port = free_port()
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dashboards.app", str(snapshot), "--port", str(port)],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        try:
            while True:
                try:
                    with urllib.request.urlopen(url + "/", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"dashboard did not start: {log_path.read_text()}"
                        ) from None
                    time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
