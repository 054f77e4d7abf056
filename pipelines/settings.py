"""Where the product reads and writes: environment variables with embedded defaults under ./data."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from data_contracts.payer_plan_types import payer_plan_types_file


def _env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default)


@dataclass(frozen=True)
class ProductSettings:
    """Folders and files of one installation; CLI flags override the environment."""

    landing: Path = field(default_factory=lambda: _env_path("DENIAL_RISK_LANDING", "data/landing"))
    warehouse: Path = field(
        default_factory=lambda: _env_path("DENIAL_RISK_WAREHOUSE", "data/warehouse.duckdb")
    )
    exports: Path = field(default_factory=lambda: _env_path("DENIAL_RISK_EXPORTS", "data/exports"))
    # Unsent claims to check before submission (claims/ and notes/ as in landing); env
    # DENIAL_RISK_OUTGOING, else `outgoing` beside the landing folder.
    outgoing: Path = None  # type: ignore[assignment]
    # Synthetic worlds only: the generator's truth file. When set, the run materializes
    # `oracle_evaluation` (pending scores against the true outcomes); never set on real data.
    truth: Path | None = field(
        default_factory=lambda: (
            Path(os.environ["DENIAL_RISK_TRUTH"]) if os.environ.get("DENIAL_RISK_TRUTH") else None
        )
    )

    # Keep note text after its documentation elements are stored (default: cleared);
    # DENIAL_RISK_KEEP_NOTE_TEXT=1 (docs/security.md "Note text").
    keep_note_text: bool = field(
        default_factory=lambda: (
            os.environ.get("DENIAL_RISK_KEEP_NOTE_TEXT", "").strip().lower() in ("1", "true", "yes")
        )
    )

    def __post_init__(self) -> None:
        if self.outgoing is None:
            default = self.landing.parent / "outgoing"
            object.__setattr__(self, "outgoing", _env_path("DENIAL_RISK_OUTGOING", str(default)))

    @property
    def data_root(self) -> Path:
        """Models, reports, Data Docs and the published snapshot live beside the warehouse."""
        return self.warehouse.parent

    @property
    def models(self) -> Path:
        return self.data_root / "models"

    @property
    def reports(self) -> Path:
        return self.data_root / "reports"

    @property
    def data_docs(self) -> Path:
        return self.data_root / "data_docs"

    @property
    def published_snapshot(self) -> Path:
        return self.data_root / "published" / "snapshot.duckdb"

    @property
    def payer_plan_types(self) -> Path:
        """The practice's payer → plan type table (env DENIAL_RISK_PAYER_PLAN_TYPES, else
        `<landing>/reference/payer_plan_types.csv`; docs/x12.md "Plan type")."""
        return payer_plan_types_file(self.landing)

    @property
    def phi_key_file(self) -> Path:
        return self.data_root / ".phi_key"
