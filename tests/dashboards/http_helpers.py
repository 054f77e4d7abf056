"""The Dash app served over real HTTP on a free 127.0.0.1 port, in a thread of the test process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from werkzeug.serving import make_server

from dashboards.app import create_app


@contextmanager
def served(app) -> Iterator[str]:  # noqa: ANN001
    """Serve a WSGI app (the Dash Flask server) until the block ends; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


# Every filter of the page, read as state by the download callback (importing the page module
# here would register it with Dash a second time).
DOWNLOAD_STATES = (
    ("work-queue-payer", "value"),
    ("work-queue-provider", "value"),
    ("work-queue-band", "value"),
    ("work-queue-dates", "start_date"),
    ("work-queue-dates", "end_date"),
    ("work-queue-search", "value"),
)


def queue_snapshot(path: Path, claim_ids: list[str], payer_ids: list[str]) -> Path:
    """A snapshot holding only a `work_queue` table with the given claim and payer ids."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create table work_queue (claim_id varchar, line_number integer, service_date date, "
            "payer_name varchar, payer_id varchar, rendering_npi varchar, charge_amount "
            "decimal(12,2), denial_probability double, risk_band varchar, expected_loss_usd "
            "double, reasons varchar, recommended_action varchar)"
        )
        con.executemany(
            "insert into work_queue values (?, 1, date '2025-01-02', 'Alpha', ?, '1234567893', "
            "-5.00, 0.5, 'high', ?, 'units', 'fix')",
            [[c, p, 100.0 - i] for i, (c, p) in enumerate(zip(claim_ids, payer_ids, strict=True))],
        )
    return path


def download_request() -> dict:
    """The body Dash's front end posts when the work queue's Download button is clicked."""
    return {
        "output": "work-queue-download.data",
        "outputs": {"id": "work-queue-download", "property": "data"},
        "inputs": [{"id": "work-queue-download-button", "property": "n_clicks", "value": 1}],
        "state": [{"id": i, "property": p, "value": None} for i, p in DOWNLOAD_STATES],
        "changedPropIds": ["work-queue-download-button.n_clicks"],
    }


def app_for(snapshot: Path):  # noqa: ANN201
    """The product's Dash app over a snapshot file."""
    return create_app(snapshot)
