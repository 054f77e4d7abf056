"""Whether the peer fits in this machine's memory at a given size (checked before it starts)."""

from __future__ import annotations

from pathlib import Path

# Measured: the peer's end-to-end peak RSS is ~7.6x the landing folder's bytes at 1M lines
# (2.7 GB for 360 MB of CSV); pandas holds every frame whole, so it grows linearly from there.
PEAK_PER_LANDING_BYTE = 8.0


class PeerMemoryGuard(RuntimeError):
    """The peer would need more memory than the machine has available: it is not run."""


def landing_bytes(landing: Path) -> int:
    """Bytes of every file in the landing folder."""
    return sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())


def available_bytes() -> int:
    """MemAvailable from /proc/meminfo."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def check_memory(landing: Path) -> None:
    """Refuse to start when the projected peak would not fit (it would swap-kill colleagues' jobs)."""
    projected = PEAK_PER_LANDING_BYTE * landing_bytes(landing)
    available = available_bytes()
    if projected > available:
        raise PeerMemoryGuard(
            f"peer not run: projected peak {projected / 1024**3:.1f} GB "
            f"({PEAK_PER_LANDING_BYTE:.0f}x the landing bytes) exceeds the "
            f"{available / 1024**3:.1f} GB available"
        )
