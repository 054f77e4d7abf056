"""Memory of a run: the cap DuckDB and the features step work under, and peak RSS per step."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def machine_memory_bytes() -> int:
    """Physical memory of the machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_limit_bytes() -> int:
    """env DENIAL_RISK_MEMORY_LIMIT (bytes, or with a KB/MB/GB suffix), default a third of memory."""
    text = (os.environ.get("DENIAL_RISK_MEMORY_LIMIT") or "").strip().upper().removesuffix("B")
    if not text:
        return machine_memory_bytes() // 3
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    scale = units.get(text[-1], 1)
    number = text[:-1] if text[-1] in units else text
    try:
        value = int(float(number) * scale)
    except ValueError:
        raise ValueError(
            f"DENIAL_RISK_MEMORY_LIMIT must be a size such as 8GB or 8000000000, not {text!r}"
        ) from None
    if value <= 0:
        raise ValueError("DENIAL_RISK_MEMORY_LIMIT must be positive")
    return value


def reset_peak_rss() -> None:
    """Start a new peak-RSS measurement for this process (Linux `clear_refs` 5 resets VmHWM)."""
    with contextlib.suppress(OSError):
        _CLEAR_REFS.write_text("5")


def peak_rss_mb() -> float:
    """Peak resident memory of this process since the last reset, in MB (0 when unknown)."""
    with contextlib.suppress(OSError):
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0
