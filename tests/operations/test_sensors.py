"""Landing sensor: one run per batch of new or changed files, none for files already seen;
run-failure sensor: a log line, and a JSON post to the webhook when one is set."""

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import pytest

from pipelines.defs.operations.sensors import (
    changed_files,
    landing_files_sensor,
    run_failure_alert,
    scan_landing,
)


def _land(path: Path, text: str, age_seconds: float = 60.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    settled = time.time() - age_seconds
    os.utime(path, (settled, settled))


def _tick(cursor: str | None) -> dg.SensorResult:
    with dg.build_sensor_context(cursor=cursor) as context:
        return landing_files_sensor(context)


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    monkeypatch.setenv("DENIAL_RISK_LANDING", str(folder))
    monkeypatch.setenv("DENIAL_RISK_LANDING_SETTLE_SECONDS", "10")
    return folder


def test_landing_sensor_requests_one_run_per_new_or_changed_batch(landing: Path) -> None:
    empty = _tick(None)
    assert empty.run_requests == [] or empty.run_requests is None
    assert json.loads(empty.cursor) == {}

    _land(landing / "claims" / "claims_2024_03.csv", "claim_id\nC1\n")
    _land(landing / "remits" / "era_2024_03.835", "ISA*00~")
    first = _tick(empty.cursor)
    assert len(first.run_requests) == 1
    assert first.run_requests[0].tags["denial_risk/files"] == "2"
    assert sorted(json.loads(first.cursor)) == [
        "claims/claims_2024_03.csv",
        "remits/era_2024_03.835",
    ]

    # Nothing new: no run.
    again = _tick(first.cursor)
    assert not again.run_requests
    assert again.cursor == first.cursor

    # One changed file and one new file: one run for the pair, with a new run key.
    _land(landing / "claims" / "claims_2024_03.csv", "claim_id\nC1\nC2\n")
    _land(landing / "notes" / "notes_2024_03.csv", "note_id\nN1\n")
    changed = _tick(again.cursor)
    assert len(changed.run_requests) == 1
    assert changed.run_requests[0].tags["denial_risk/files"] == "2"
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key
    assert not _tick(changed.cursor).run_requests


def test_landing_sensor_waits_for_files_still_being_written(landing: Path) -> None:
    _land(landing / "claims" / "partial.csv", "claim_id\n", age_seconds=0)
    _land(landing / "claims" / "upload.csv.part", "claim_id\n")
    _land(landing / ".hidden", "x")
    assert not _tick(None).run_requests
    _land(landing / "claims" / "partial.csv", "claim_id\nC1\n", age_seconds=30)
    settled = _tick(None)
    assert len(settled.run_requests) == 1
    assert list(json.loads(settled.cursor)) == ["claims/partial.csv"]


def test_scan_and_diff_are_plain_functions(tmp_path: Path) -> None:
    _land(tmp_path / "a.csv", "1")
    now = time.time()
    current = scan_landing(tmp_path, now=now, settle_seconds=5)
    size, mtime_ns = current["a.csv"].split(":")
    assert size == "1" and int(mtime_ns) > 0
    assert changed_files({}, current) == ["a.csv"]
    assert changed_files(current, current) == []
    assert scan_landing(tmp_path / "missing", now=now, settle_seconds=5) == {}


class _Collector(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@dg.op
def load_patient_file() -> None:
    raise FileNotFoundError("patient P-123 file missing")


@dg.job
def failing_job() -> None:
    load_patient_file()


@pytest.fixture(scope="module")
def failure_context() -> Iterator[dg.RunFailureSensorContext]:
    """One real failed run (a few seconds) shared by the failure-sensor tests."""
    with dg.instance_for_test() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        yield dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()


def test_failure_sensor_logs_and_posts_without_patient_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure_context: dg.RunFailureSensorContext
) -> None:
    monkeypatch.setenv("DENIAL_RISK_WAREHOUSE", str(tmp_path / "data" / "warehouse.duckdb"))
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    _Collector.received = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("DENIAL_RISK_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    run_failure_alert(failure_context)
    run_id = failure_context.dagster_run.run_id
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()

    log_line = (tmp_path / "data" / "logs" / "run_failures.log").read_text().strip()
    assert f"run_id={run_id}" in log_line
    assert "job=failing_job" in log_line
    assert "failing_step=load_patient_file" in log_line
    assert "error_class=FileNotFoundError" in log_line

    assert len(_Collector.received) == 1
    posted = _Collector.received[0]
    assert posted["run_id"] == run_id
    assert posted["job"] == "failing_job"
    assert posted["failing_step"] == "load_patient_file"
    assert posted["error_class"] == "FileNotFoundError"
    # The error message may quote data; only its class leaves the machine.
    assert "P-123" not in json.dumps(posted) and "P-123" not in log_line


def test_failure_sensor_without_webhook_only_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure_context: dg.RunFailureSensorContext
) -> None:
    monkeypatch.setenv("DENIAL_RISK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("DENIAL_RISK_ALERT_WEBHOOK", raising=False)
    run_failure_alert(failure_context)
    lines = (tmp_path / "logs" / "run_failures.log").read_text().splitlines()
    assert len(lines) == 1 and "error_class=FileNotFoundError" in lines[0]


def test_unreachable_webhook_is_recorded_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure_context: dg.RunFailureSensorContext
) -> None:
    monkeypatch.setenv("DENIAL_RISK_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    port = server.server_port
    server.server_close()  # nothing listens on this port any more
    monkeypatch.setenv("DENIAL_RISK_ALERT_WEBHOOK", f"http://127.0.0.1:{port}/hook")
    run_failure_alert(failure_context)
    lines = (tmp_path / "logs" / "run_failures.log").read_text().splitlines()
    assert len(lines) == 2 and "alert_error=URLError" in lines[1]
