"""Data Docs open without network: every remote script and stylesheet points at a shipped copy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from data_contracts.data_docs_offline import (
    ASSETS_DIR,
    LOCAL_COPIES,
    SITE_ASSETS,
    VEGA_STUB,
    make_offline,
    offline_page,
)

REMOTE_RESOURCE = re.compile(r"<(script|link|img)\b[^>]*(src|href)=\"https?://", re.IGNORECASE)

PAGE = """<html><head>
<link rel="shortcut icon" href="../../../static/images/favicon.ico" type="image/x-icon"/>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css" />
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" integrity="sha384-x" crossorigin="anonymous"></script>
<script src="https://example.org/tracker.js"></script>
</head><body>
<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1&dataContextId=abc"/>
<style>@media (prefers-color-scheme: dark) { .navbar-brand a {
  background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png') 0 0 no-repeat;
} }</style>
<a href="https://greatexpectations.io">GX</a>
<script>vegaEmbed('#chart', {});</script>
</body></html>"""


def test_every_local_copy_is_shipped() -> None:
    for local in set(LOCAL_COPIES.values()):
        assert (ASSETS_DIR / local).stat().st_size > 100, local
    assert (ASSETS_DIR / "webfonts" / "fa-solid-900.woff2").exists()


def test_page_is_rewritten_to_local_copies(tmp_path: Path) -> None:
    page = tmp_path / "validations" / "suite" / "index.html"
    out = offline_page(PAGE, page, tmp_path)
    assert REMOTE_RESOURCE.search(out) is None
    assert (
        '<link href="../../static/offline/css/bootstrap-4.3.1.min.css" rel="stylesheet" />' in out
    )
    # A crossorigin script is refused from a file:// page: the attribute goes with the CDN.
    assert '<script src="../../static/offline/js/bootstrap-4.3.1.min.js"></script>' in out
    assert "tracker.js" not in out
    # The dark theme GX links (applied under prefers-color-scheme: dark) is shipped too.
    assert (
        '<link href="../../static/offline/css/bootstrap-prefers-dark-1.1.0.min.css" '
        'rel="stylesheet" />' in out
    )
    assert 'src="../../static/images/logo-long.png"' in out and "dataContextId" not in out
    assert 'href="../../static/images/favicon.ico"' in out
    # The inline dark-mode logo comes from the site, not S3.
    assert "url('../../static/images/logo-long.png') 0 0 no-repeat" in out
    assert "amazonaws" not in out
    assert '<a href="https://greatexpectations.io">' in out  # a link to follow, not a load
    assert out.index(VEGA_STUB) < out.index("vegaEmbed('#chart'")
    # Idempotent: a page already offline is left as it is.
    assert offline_page(out, page, tmp_path) == out


def test_make_offline_copies_assets_and_rewrites_pages_and_styles(tmp_path: Path) -> None:
    (tmp_path / "static" / "styles").mkdir(parents=True)
    (tmp_path / "static" / "styles" / "gx.css").write_text(
        ".brand { background: url('https://great-expectations-web-assets.s3.amazonaws.com/x.png'); }"
    )
    (tmp_path / "index.html").write_text(PAGE)
    assert make_offline(tmp_path) == 1
    assert (tmp_path / SITE_ASSETS / "js" / "jquery-3.7.1.min.js").exists()
    assert REMOTE_RESOURCE.search((tmp_path / "index.html").read_text()) is None
    css = (tmp_path / "static" / "styles" / "gx.css").read_text()
    assert "https://" not in css and "url('../images/logo-long.png')" in css
    assert make_offline(tmp_path) == 0


@pytest.mark.parametrize("url", sorted(LOCAL_COPIES))
def test_only_https_cdn_urls_are_mapped(url: str) -> None:
    assert url.startswith("https://") and "?" not in url
