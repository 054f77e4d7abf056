"""PNG export of figures: the implementation lives in `models.figures` (lower layer)."""

from models.figures import CHROMIUM, browser_available, write_pngs

__all__ = ["CHROMIUM", "browser_available", "write_pngs"]
