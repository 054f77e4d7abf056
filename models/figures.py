"""Figures of the model (calibration, learning curve) and PNG export through kaleido.

The PNG export runs in a child process with a deadline (here rather than under `dashboards/` so
the model registry can draw its card's figure without importing an upper layer; the dashboards
import it from here).

kaleido drives a headless Chromium; once (benchmark, 2026-11-27) it waited on an idle browser
for over 13 minutes inside a scheduled training run. The export runs in its own process group so
a stuck browser is killed with it and the pipeline goes on without the images.
"""

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go

log = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
DEFAULT_TIMEOUT_SECONDS = 120.0


def browser_available() -> bool:
    """kaleido needs a Chromium; Debian's lives at /usr/bin/chromium."""
    return shutil.which("chromium") is not None or Path(CHROMIUM).exists()


def _export(figures_json: list[str], paths: list[str], width: int, height: int) -> None:
    os.setsid()  # own process group: the browser dies with us on timeout
    import plotly.io as pio

    figures = [pio.from_json(f) for f in figures_json]
    pio.write_images(figures, paths, format="png", width=width, height=height, scale=1)


def write_pngs(
    figures: Sequence[go.Figure],
    paths: Sequence[Path],
    width: int = 1100,
    height: int = 520,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> bool:
    """Write the figures as PNGs in one browser session; False (logged) on no browser or timeout."""
    if not figures:
        return True
    if not browser_available():
        log.warning("PNG export skipped: kaleido needs Chromium (%s not found)", CHROMIUM)
        return False
    process = multiprocessing.get_context("spawn").Process(
        target=_export,
        args=([f.to_json() for f in figures], [str(p) for p in paths], width, height),
    )
    process.start()
    process.join(timeout_seconds)
    if process.is_alive():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.kill()  # it may not have become its own group leader yet
        process.join()
        log.warning("PNG export abandoned after %.0f s (browser not answering)", timeout_seconds)
        return False
    if process.exitcode != 0:
        log.warning("PNG export failed in its child process (exit code %s)", process.exitcode)
        return False
    return all(Path(p).exists() for p in paths)


def write_png(figure: go.Figure, path: Path, width: int = 1100, height: int = 520) -> bool:
    """One figure as PNG (see `write_pngs`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_pngs([figure], [path], width=width, height=height)


def calibration_figure(curve: dict[str, list], title: str) -> go.Figure:
    """Reliability diagram: mean predicted probability against the observed rate per bin."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dash"})
    )
    fig.add_trace(
        go.Scatter(
            x=curve["mean_probability"],
            y=curve["observed_rate"],
            mode="lines+markers",
            name="model (calibrated)",
            text=[f"{n} lines" for n in curve["lines"]],
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="predicted denial probability",
        yaxis_title="observed denial rate",
    )
    return fig
