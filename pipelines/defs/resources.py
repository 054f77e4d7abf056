"""Resources shared by every asset: the DuckDB warehouse and the product's folders."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.settings import ProductSettings

# Every asset that opens the warehouse file declares this pool; dagster.yaml gives it one slot, so
# two steps never hold DuckDB's single-writer lock at once (STACK-NOTES: the locking pitfall).
WAREHOUSE_POOL = "warehouse"


class ProductPaths(dg.ConfigurableResource):
    """Landing, exports and data folders of this installation."""

    landing: str
    warehouse: str
    exports: str
    truth: str = ""
    keep_note_text: bool = False

    def settings(self) -> ProductSettings:
        return ProductSettings(
            landing=Path(self.landing),
            warehouse=Path(self.warehouse),
            exports=Path(self.exports),
            truth=Path(self.truth) if self.truth else None,
            keep_note_text=self.keep_note_text,
        )


def build_resources(settings: ProductSettings | None = None) -> dict[str, dg.ConfigurableResource]:
    """Resources for a run; the CLI passes its flags through `settings`."""
    settings = settings or ProductSettings()
    return {
        "warehouse": DuckDBResource(database=str(settings.warehouse)),
        "paths": ProductPaths(
            landing=str(settings.landing),
            warehouse=str(settings.warehouse),
            exports=str(settings.exports),
            truth=str(settings.truth or ""),
            keep_note_text=settings.keep_note_text,
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
