"""PNG export runs kaleido in a child process with a deadline."""

from pathlib import Path

import plotly.graph_objects as go

from dashboards.images import write_pngs


def _figure() -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b"], y=[1, 2]))


def test_pngs_are_written_by_the_child_process(tmp_path: Path) -> None:
    paths = [tmp_path / "one.png", tmp_path / "two.png"]
    assert write_pngs([_figure(), _figure()], paths, width=300, height=200)
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_export_past_its_deadline_is_abandoned_without_raising(tmp_path: Path) -> None:
    path = tmp_path / "late.png"
    assert write_pngs([_figure()], [path], timeout_seconds=0.01) is False
    assert not path.exists()
