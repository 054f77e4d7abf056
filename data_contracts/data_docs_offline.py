"""Make great-expectations Data Docs open without network: local scripts, styles, fonts and logo.

GX writes pages that load jQuery, Bootstrap, bootstrap-table and Font Awesome from CDNs (and
its logo from S3, with the data context id in the query). Offline, the validation tables stay
empty because bootstrap-table draws them. `make_offline` copies the shipped copies
(`data_docs_assets/`, see its SOURCES.md) into the site and points every page at them; any other
remote script or stylesheet is dropped (and logged), so no page ever reaches the network.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).parent / "data_docs_assets"
# Where the copies go inside the Data Docs folder (GX's own static files sit in static/).
SITE_ASSETS = Path("static") / "offline"
GX_LOGO = Path("static") / "images" / "logo-long.png"
FAVICON = Path("static") / "images" / "favicon.ico"

# Remote URL (as GX 1.24 writes it) → shipped file.
LOCAL_COPIES: dict[str, str] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "js/jquery-3.7.1.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "js/popper-1.12.9.min.js"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "js/bootstrap-4.3.1.min.js"
    ),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "css/bootstrap-4.3.1.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "js/bootstrap-table-1.19.1.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "css/bootstrap-table-1.19.1.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": "js/bootstrap-table-filter-control-1.19.1.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": "css/bootstrap-table-filter-control-1.19.1.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": "css/bootstrap-table-filter-control-1.19.1.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "js/bootstrap-datepicker-1.9.0.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "css/bootstrap-datepicker-1.9.0.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "css/fontawesome-6.6.0.all.min.css"
    ),
    # The dark theme, applied when the reader's system prefers a dark colour scheme.
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "css/bootstrap-prefers-dark-1.1.0.min.css",
}

# Remote files left out on purpose (data_docs_assets/SOURCES.md says why).
LEFT_OUT = ("/vega@", "/vega-lite@", "/vega-embed@")

# A page that draws a vega chart (distribution expectations; none in this project's suites)
# says so instead of failing on an undefined function.
VEGA_STUB = (
    "<script>window.vegaEmbed = function (target) {"
    " var el = document.querySelector(target);"
    " if (el) { el.textContent = 'Chart not available in the offline Data Docs.'; }"
    " return Promise.resolve(); };</script>"
)

_REMOTE_TAG = re.compile(
    r"<(?P<tag>script|link|img)\b(?P<attrs>[^>]*?)\b(?P<attr>src|href)=\"(?P<url>https?://[^\"]*)\""
    r"(?P<rest>[^>]*)>(?P<close></script>)?",
    re.IGNORECASE,
)
_FAVICON = re.compile(r'href="(?:\.\./|\./)*static/images/favicon\.ico"')
_SRI = re.compile(r"\s(integrity|crossorigin)=\"[^\"]*\"", re.IGNORECASE)
_CSS_REMOTE_URL = re.compile(r"url\(\s*['\"]?(?P<url>https?://[^)'\"]*)['\"]?\s*\)", re.IGNORECASE)


def _relative(target: Path, page: Path) -> str:
    return Path(os.path.relpath(target, page.parent)).as_posix()


def offline_css(text: str, logo: str) -> str:
    """CSS (a stylesheet or a page's inline styles) with no remote `url()`: GX's web assets (its
    logos) become the local logo at the relative path `logo`, anything else `none` (logged)."""

    def replace(match: re.Match[str]) -> str:
        if "great-expectations-web-assets" in match["url"]:
            return f"url('{logo}')"
        log.warning("Data Docs: dropped style url %s (no local copy)", match["url"])
        return "none"

    return _CSS_REMOTE_URL.sub(replace, text)


def offline_page(html: str, page: Path, site: Path) -> str:
    """One page with every remote script, stylesheet and image pointed at the site's copies."""
    dropped_vega = False

    def replace(match: re.Match[str]) -> str:
        nonlocal dropped_vega
        tag, url = match["tag"].lower(), match["url"]
        bare = url.split("?", 1)[0]
        if tag == "img":
            if bare.endswith("logo-long.png"):
                return match[0].replace(url, _relative(site / GX_LOGO, page))
            return ""
        if tag == "link" and "stylesheet" not in match[0].lower():
            return match[0] if "icon" in match[0].lower() else ""
        local = LOCAL_COPIES.get(bare)
        if local is not None:
            # No integrity/crossorigin: a crossorigin script is refused from file:// pages.
            attrs = " ".join(_SRI.sub("", f"{match['attrs']} {match['rest']}").split())
            new_url = _relative(site / SITE_ASSETS / local, page)
            return (
                f'<{match["tag"]} {match["attr"]}="{new_url}"{" " + attrs if attrs else ""}>'
                f"{match['close'] or ''}"
            )
        if "vega" in bare:
            dropped_vega = True
        if any(part in bare for part in LEFT_OUT):
            log.debug("Data Docs: left out %s %s (see data_docs_assets/SOURCES.md)", tag, url)
        else:
            log.warning(
                "Data Docs: dropped %s %s (no local copy; the page stays offline)", tag, url
            )
        return ""

    out = _REMOTE_TAG.sub(replace, html)
    # GX inlines its stylesheet in every page: its dark-mode rules draw the logo from S3.
    out = offline_css(out, _relative(site / GX_LOGO, page))
    # GX 1.24 links the favicon one folder too high on validation pages (a 404 per visit).
    out = _FAVICON.sub(f'href="{_relative(site / FAVICON, page)}"', out)
    if dropped_vega and "vegaEmbed(" in out:
        out = out.replace("<script>", VEGA_STUB + "\n<script>", 1)
    return out


def make_offline(site: Path) -> int:
    """Copy the shipped assets into the Data Docs folder and rewrite its pages; returns pages changed."""
    site = Path(site)
    shutil.copytree(ASSETS_DIR, site / SITE_ASSETS, dirs_exist_ok=True)
    changed = 0
    for page in site.rglob("*.html"):
        if ".gx_stores" in page.parts or SITE_ASSETS.parts[-1] in page.parts:
            continue
        html = page.read_text(encoding="utf-8")
        offline = offline_page(html, page, site)
        if offline != html:
            page.write_text(offline, encoding="utf-8")
            changed += 1
    # GX's stylesheet draws its dark-mode logo from S3.
    for css in (site / "static" / "styles").glob("*.css"):
        text = css.read_text(encoding="utf-8")
        offline = offline_css(text, _relative(site / GX_LOGO, css))
        if offline != text:
            css.write_text(offline, encoding="utf-8")
    return changed
