"""Resources shared by every asset: the DuckDB warehouse and the product's folders."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.memory import memory_limit_bytes
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

    def settings(self) -> ProductSettings:
        return ProductSettings(
            landing=Path(self.landing),
            warehouse=Path(self.warehouse),
            exports=Path(self.exports),
            truth=Path(self.truth) if self.truth else None,
        )


def build_resources(settings: ProductSettings | None = None) -> dict[str, dg.ConfigurableResource]:
    """Resources for a run; the CLI passes its flags through `settings`."""
    settings = settings or ProductSettings()
    return {
        # DENIAL_RISK_MEMORY_LIMIT (default a third of the machine): DuckDB spills beyond it.
        "warehouse": DuckDBResource(
            database=str(settings.warehouse),
            connection_config={"memory_limit": f"{memory_limit_bytes() // 2**20}MiB"},
        ),
        "paths": ProductPaths(
            landing=str(settings.landing),
            warehouse=str(settings.warehouse),
            exports=str(settings.exports),
            truth=str(settings.truth or ""),
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources())
