"""Practices of a billing service: one folder each under the practices root, never mixed.

A practice is chosen per Dagster run by the run tag `denial_risk/practice`; the resources read it
and route the landing folder, warehouse, registry, exports and snapshot to
`<DENIAL_RISK_PRACTICES_ROOT>/<practice>/` (docs/operations.md "Many practices"). A run without
the tag is the embedded single installation, exactly as before.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipelines.settings import ProductSettings

PRACTICE_TAG = "denial_risk/practice"
PRACTICES_ROOT_ENV = "DENIAL_RISK_PRACTICES_ROOT"
DEFAULT_PRACTICES_ROOT = "data/practices"
LANDING_FOLDERS = ("claims", "remits", "remit_adjustments", "notes")

# Lowercase letters, digits, `-` and `_`, at most 63 characters: safe as a folder name, a Dagster
# tag value and a Kubernetes label value (the K8s run launcher copies run tags into labels).
_PRACTICE_NAME = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?")


class PracticeError(ValueError):
    """A practice name that is not allowed, or a practice that does not exist."""


def practices_root() -> Path:
    """Env DENIAL_RISK_PRACTICES_ROOT, default data/practices."""
    return Path(os.environ.get(PRACTICES_ROOT_ENV) or DEFAULT_PRACTICES_ROOT)


def validate_practice_name(name: str) -> str:
    """The name itself when it may name a practice; PracticeError (with the rule) otherwise."""
    if not _PRACTICE_NAME.fullmatch(name or ""):
        raise PracticeError(
            f"practice name {name!r} is not allowed: use 1-63 lowercase letters, digits, '-' or "
            "'_', starting and ending with a letter or digit"
        )
    return name


def practice_dir(root: Path, name: str) -> Path:
    return root / validate_practice_name(name)


def practice_settings(root: Path, name: str) -> ProductSettings:
    """Folders of one practice; nothing is shared with another practice or the default."""
    base = practice_dir(root, name)
    return ProductSettings(
        landing=base / "landing",
        warehouse=base / "warehouse.duckdb",
        exports=base / "exports",
        outgoing=base / "outgoing",
        truth=None,
    )


def list_practices(root: Path) -> list[str]:
    """Practices under `root`, sorted: every validly named folder holding a `landing/` folder."""
    if not root.is_dir():
        return []
    return sorted(
        child.name
        for child in root.iterdir()
        if child.is_dir() and _PRACTICE_NAME.fullmatch(child.name) and (child / "landing").is_dir()
    )


def scheduled_practices(root: Path) -> list[str | None]:
    """Whom a schedule or sensor tick serves: every practice, or the embedded installation (None)
    when there is none."""
    return list(list_practices(root)) or [None]


def add_practice(root: Path, name: str) -> ProductSettings:
    """Create the practice's landing folders (idempotent) and return its settings."""
    settings = practice_settings(root, name)
    for folder in LANDING_FOLDERS:
        (settings.landing / folder).mkdir(parents=True, exist_ok=True)
    settings.exports.mkdir(parents=True, exist_ok=True)
    return settings


def require_practice(root: Path, name: str) -> ProductSettings:
    """Settings of an existing practice; PracticeError naming the known ones otherwise."""
    if name not in list_practices(root):
        known = ", ".join(list_practices(root)) or "none"
        raise PracticeError(
            f"no practice {validate_practice_name(name)!r} under {root} (known: {known}); "
            f"add it with `denial-risk practice add {name}`"
        )
    return practice_settings(root, name)
