"""The denial-risk dashboard: a Dash multi-page app over the published read-only snapshot."""

from __future__ import annotations

import logging
from pathlib import Path

import dash
from dash import Dash, dcc, html

from dashboards.auth import Credentials, credentials_from_env, protect, require_credentials
from dashboards.components import SNAPSHOT_CONFIG_KEY
from dashboards.theme import register_template

log = logging.getLogger(__name__)

PAGES_FOLDER = Path(__file__).parent / "pages"


def create_app(snapshot_path: str | Path, credentials: Credentials | None = None) -> Dash:
    """Build the app; every callback opens the snapshot read-only, per request.

    With credentials, every route (pages, callbacks, assets) requires them (`dashboards/auth.py`).
    """
    register_template()
    # serve_locally: the plotly/dash bundles come from the installed packages, no CDN (offline).
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PAGES_FOLDER),
        serve_locally=True,
        title="Denial-risk dashboard · CPT 64520",
        suppress_callback_exceptions=True,
    )
    app.server.config[SNAPSHOT_CONFIG_KEY] = str(Path(snapshot_path).resolve())
    protect(app.server, credentials or Credentials())
    nav = html.Nav(
        [html.Strong("Denial risk · CPT 64520", style={"marginRight": "24px"})]
        + [
            dcc.Link(
                page["name"],
                href=page["relative_path"],
                id=f"nav-{page['module'].rsplit('.', 1)[-1].replace('_', '-')}",
                style={"marginRight": "18px", "color": "white"},
            )
            for page in dash.page_registry.values()
        ],
        style={"padding": "10px 16px", "background": "#0b3954", "color": "white"},
    )
    app.layout = html.Div(
        [
            nav,
            html.Main(dash.page_container, style={"padding": "12px 16px"}),
        ],
        style={"fontFamily": "Arial, Helvetica, sans-serif", "background": "#fafafa"},
    )
    return app


def run(snapshot_path: str | Path, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the dashboard (binds 127.0.0.1 by default; elsewhere only with credentials)."""
    credentials = credentials_from_env()
    require_credentials(host, credentials)
    app = create_app(snapshot_path, credentials)
    log.info("serving the dashboard on http://%s:%s from %s", host, port, snapshot_path)
    app.run(host=host, port=port, debug=False)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Serve the denial-risk dashboard.")
    parser.add_argument("snapshot", help="path of the published snapshot.duckdb")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    run(args.snapshot, args.host, args.port)
