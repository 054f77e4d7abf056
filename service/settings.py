"""What the service reads and how it guards itself: environment variables with embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

TOKEN_ENV = "DENIAL_RISK_API_TOKEN"
MAX_BODY_ENV = "DENIAL_RISK_API_MAX_BODY_BYTES"
RELOAD_CHECK_ENV = "DENIAL_RISK_API_RELOAD_SECONDS"
SCORING_THREADS_ENV = "DENIAL_RISK_API_SCORING_THREADS"

DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
# How often a request may ask the registry whether another champion was promoted (a file read).
DEFAULT_RELOAD_CHECK_SECONDS = 5.0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _default_scoring_threads() -> int:
    # Requests scored at once: one per core. More only interleave on the cores (polars and
    # DuckDB already run their own threads), so each takes longer and the queue does not shrink.
    return max(1, _env_int(SCORING_THREADS_ENV, os.cpu_count() or 1))


def _env_token() -> str | None:
    return os.environ.get(TOKEN_ENV) or None


@dataclass(frozen=True)
class ServiceSettings:
    """Warehouse and registry to score against, the API token and the request limits."""

    warehouse: Path
    models_dir: Path
    # None: the scoring context reads DENIAL_RISK_PAYER_RULES itself (data_contracts.payer_rules).
    payer_rules_file: Path | None = None
    token: str | None = field(default_factory=_env_token, repr=False)
    max_body_bytes: int = field(
        default_factory=lambda: _env_int(MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES)
    )
    reload_check_seconds: float = field(
        default_factory=lambda: _env_float(RELOAD_CHECK_ENV, DEFAULT_RELOAD_CHECK_SECONDS)
    )
    scoring_threads: int = field(default_factory=_default_scoring_threads)

    @classmethod
    def for_warehouse(cls, warehouse: Path, **overrides) -> ServiceSettings:
        """Settings of an installation whose models live beside its warehouse (as the CLI lays out)."""
        return cls(warehouse=warehouse, models_dir=warehouse.parent / "models", **overrides)
