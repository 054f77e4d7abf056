"""A full disk on the exports folder leaves no partial export visible.

The export is written in a child process whose file-size limit (RLIMIT_FSIZE) is smaller than
the CSV, the portable way to make writes fail with EFBIG without mounting a filesystem; the
child ignores SIGXFSZ so the write raises instead of killing it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import resource, signal, sys
    from datetime import UTC, datetime
    from pathlib import Path
    import polars as pl
    from models.export import EXPORT_COLUMNS, write_export_batches

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    n = 2_000
    frame = pl.DataFrame({c: [f"{c}-{i}" for i in range(n)] for c in EXPORT_COLUMNS})
    try:
        write_export_batches(frame.iter_slices(500), Path(sys.argv[1]), "m-1",
                             now=datetime(2026, 1, 2, tzinfo=UTC))
    except OSError as error:
        print("write failed:", error.errno)
        sys.exit(3)
    print("written")
    """
)


def _export_in_child(exports: Path, limit: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(exports), str(limit)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_full_disk_leaves_no_partial_export(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    failed = _export_in_child(exports, 64 * 1024)
    assert failed.returncode == 3, failed.stdout + failed.stderr
    assert "write failed: 27" in failed.stdout  # EFBIG
    assert list(exports.iterdir()) == []
    # With room, the same export is complete and has its manifest.
    done = _export_in_child(exports, 64 * 1024 * 1024)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in exports.iterdir()) == [
        "risk_scores_20260102T000000Z.csv",
        "risk_scores_20260102T000000Z.manifest.json",
    ]
