"""Resources shared by every asset: the DuckDB warehouse and the product's folders.

Both read the run tag `denial_risk/practice` when a run starts: with it they point at that
practice's own files under the practices root (pipelines/practices.py); without it, at the
embedded single installation.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from pipelines.memory import memory_limit_bytes
from pipelines.practices import PRACTICE_TAG, practices_root, require_practice
from pipelines.settings import ProductSettings

# Every asset that opens the warehouse file declares this pool. A pool is global to the instance,
# so it cannot tell practices apart: dagster.yaml gives it one slot per concurrent run, and the
# run queue's per-practice tag limit is what keeps one writer per warehouse file.
WAREHOUSE_POOL = "warehouse"


def run_practice(context: dg.InitResourceContext) -> str | None:
    """The practice named by the run's tag, or None for the embedded installation."""
    run = context.run
    return (run.tags.get(PRACTICE_TAG) or None) if run is not None else None


class ProductPaths(dg.ConfigurableResource):
    """Landing, exports and data folders of this installation, or of the run's practice."""

    landing: str
    warehouse: str
    exports: str
    truth: str = ""
    keep_note_text: bool = False
    practices_root: str = ""
    _practice: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._practice = run_practice(context)
        if self._practice:
            # An unknown practice (a typo in a tag) fails the run before anything is written.
            require_practice(Path(self.practices_root), self._practice)

    def settings(self) -> ProductSettings:
        if self._practice:
            practice = require_practice(Path(self.practices_root), self._practice)
            return replace(practice, keep_note_text=self.keep_note_text)
        return ProductSettings(
            landing=Path(self.landing),
            warehouse=Path(self.warehouse),
            exports=Path(self.exports),
            truth=Path(self.truth) if self.truth else None,
            keep_note_text=self.keep_note_text,
        )


class PracticeWarehouse(DuckDBResource):
    """The DuckDB warehouse file: `database`, or the run's practice's own file."""

    practices_root: str = ""
    _practice_database: str = PrivateAttr(default="")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        practice = run_practice(context)
        if practice:
            target = require_practice(Path(self.practices_root), practice).warehouse
            self._practice_database = str(target)

    def get_connection(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        database = self._practice_database or self.database
        return DuckDBResource(
            database=database, connection_config=self.connection_config
        ).get_connection()


def build_resources(settings: ProductSettings | None = None) -> dict[str, dg.ConfigurableResource]:
    """Resources for a run; the CLI passes its flags through `settings`."""
    settings = settings or ProductSettings()
    root = str(practices_root())
    return {
        # DENIAL_RISK_MEMORY_LIMIT (default a third of the machine): DuckDB spills beyond it.
        "warehouse": PracticeWarehouse(
            database=str(settings.warehouse),
            practices_root=root,
            connection_config={"memory_limit": f"{memory_limit_bytes() // 2**20}MiB"},
        ),
        "paths": ProductPaths(
            landing=str(settings.landing),
            warehouse=str(settings.warehouse),
            exports=str(settings.exports),
            truth=str(settings.truth or ""),
            keep_note_text=settings.keep_note_text,
            practices_root=root,
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
