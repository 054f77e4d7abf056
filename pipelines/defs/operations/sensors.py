"""Landing sensor (new or changed files start an ingest-and-score run) and the run-failure alert."""

import hashlib
import json
import os
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

from pipelines.defs.operations.jobs import ingest_and_score_job, practice_run_tags
from pipelines.practices import practice_settings, practices_root, scheduled_practices
from pipelines.settings import ProductSettings

ALERT_WEBHOOK_ENV = "DENIAL_RISK_ALERT_WEBHOOK"
ALERT_TIMEOUT_SECONDS = 5.0


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def file_signature(stat: os.stat_result) -> str:
    """Size and nanosecond mtime: a rewrite or append changes it without reading the file."""
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def scan_landing(landing: Path, now: float, settle_seconds: float) -> dict[str, str]:
    """Signatures of settled landing files (untouched for `settle_seconds`), by relative path."""
    if not landing.is_dir():
        return {}
    found: dict[str, str] = {}
    for path in sorted(landing.rglob("*")):
        relative = path.relative_to(landing)
        # Dot-files and partial uploads (.part/.tmp) are not data; a file still being copied is
        # skipped until its mtime settles so half a CSV is never ingested.
        if any(part.startswith(".") for part in relative.parts) or path.suffix in {".part", ".tmp"}:
            continue
        if not path.is_file():
            continue
        stat = path.stat()
        if now - stat.st_mtime_ns / 1e9 < settle_seconds:
            continue
        found[relative.as_posix()] = file_signature(stat)
    return found


def changed_files(seen: dict[str, str], current: dict[str, str]) -> list[str]:
    """Paths that are new or whose signature differs from the cursor."""
    return sorted(path for path, sig in current.items() if seen.get(path) != sig)


def batch_run_key(current: dict[str, str], changed: list[str]) -> str:
    """Stable key of one batch of changes: the same batch never starts two runs."""
    digest = hashlib.sha256("\n".join(f"{p}={current[p]}" for p in changed).encode()).hexdigest()
    return f"landing:{digest[:20]}"


def landing_folders() -> list[tuple[str | None, Path]]:
    """(practice, landing folder) the sensor watches: each practice's, or the embedded one."""
    root = practices_root()
    return [
        (
            practice,
            practice_settings(root, practice).landing if practice else ProductSettings().landing,
        )
        for practice in scheduled_practices(root)
    ]


def _cursor_key(practice: str | None, relative: str) -> str:
    # The embedded installation keeps bare relative paths (cursors of earlier releases stay
    # valid); a practice's entries are prefixed with "<practice>:", a character no name holds.
    return f"{practice}:{relative}" if practice else relative


@dg.sensor(
    name="landing_files_sensor",
    job=ingest_and_score_job,
    minimum_interval_seconds=_env_int("DENIAL_RISK_LANDING_SENSOR_INTERVAL", 60),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Start an ingest-and-score run (per practice) when new or changed files land; each file version once.",
)
def landing_files_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run request per practice with a batch of new or changed landing files, remembered in the cursor."""
    settle = _env_int("DENIAL_RISK_LANDING_SETTLE_SECONDS", 10)
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    now = time.time()
    next_cursor: dict[str, str] = {}
    requests: list[dg.RunRequest] = []
    watched: list[str] = []
    for practice, landing in landing_folders():
        watched.append(str(landing))
        # Either every target is a practice or the only one is the embedded installation, whose
        # cursor is the whole map (its file names may hold ":").
        prefix = _cursor_key(practice, "")
        mine = (
            {k.removeprefix(prefix): s for k, s in seen.items() if k.startswith(prefix)}
            if practice
            else dict(seen)
        )
        current = scan_landing(landing, now=now, settle_seconds=settle)
        changed = changed_files(mine, current)
        # Files removed from landing leave the cursor; files not yet settled keep their old entry
        # so an in-progress rewrite is picked up once it settles.
        kept = {p: s for p, s in mine.items() if (landing / p).exists()} | current
        next_cursor |= {_cursor_key(practice, p): s for p, s in kept.items()}
        if changed:
            key = batch_run_key(current, changed)
            requests.append(
                dg.RunRequest(
                    run_key=f"{practice}:{key}" if practice else key,
                    tags={
                        "denial_risk/trigger": "landing",
                        "denial_risk/files": str(len(changed)),
                        **practice_run_tags(practice),
                    },
                )
            )
    cursor = json.dumps(next_cursor, sort_keys=True)
    if not requests:
        return dg.SensorResult(
            skip_reason=f"no new or changed files in {', '.join(watched)}", cursor=cursor
        )
    return dg.SensorResult(run_requests=requests, cursor=cursor)


def failure_log_path(settings: ProductSettings | None = None) -> Path:
    """`<data>/logs/run_failures.log`."""
    return (settings or ProductSettings()).data_root / "logs" / "run_failures.log"


def user_error_class(error: SerializableErrorInfo | None) -> str:
    """Class of the user code's exception under Dagster's wrapper errors."""
    while (
        error is not None
        and error.cause is not None
        and (error.cls_name or "").startswith("Dagster")
    ):
        error = error.cause
    return (error.cls_name if error else None) or ""


def failure_summary(context: dg.RunFailureSensorContext) -> dict[str, str]:
    """Run id, job, first failing step and its error class; never messages (they may hold PHI)."""
    step_key, error_class = "", ""
    for event in context.get_step_failure_events():
        step_key = event.step_key or ""
        error_class = user_error_class(event.step_failure_data.error)
        break
    if not error_class:
        run_error = getattr(context.failure_event.event_specific_data, "error", None)
        error_class = user_error_class(run_error) or "RunFailure"
    return {
        "run_id": context.dagster_run.run_id,
        "job": context.dagster_run.job_name,
        "failing_step": step_key or "(run)",
        "error_class": error_class,
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def post_alert(
    webhook: str, summary: dict[str, str], timeout: float = ALERT_TIMEOUT_SECONDS
) -> int:
    """POST the summary as JSON (`text` plus fields, the Slack/Teams-compatible shape); HTTP status."""
    text = (
        f"denial-risk run failed: job {summary['job']}, step {summary['failing_step']}, "
        f"{summary['error_class']} (run {summary['run_id']})"
    )
    return post_webhook(webhook, text, summary, timeout)


def post_webhook(
    webhook: str, text: str, fields: dict[str, str], timeout: float = ALERT_TIMEOUT_SECONDS
) -> int:
    """POST `text` plus fields as JSON to the alert channel; the HTTP status."""
    body = json.dumps({"text": text, **fields}).encode()
    request = urllib.request.Request(
        webhook, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status)


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Append failed runs to <data>/logs/run_failures.log and post to DENIAL_RISK_ALERT_WEBHOOK.",
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    """Log every failed run of this code location and alert the webhook when one is configured."""
    summary = failure_summary(context)
    log_path = failure_log_path()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write("\t".join(f"{k}={v}" for k, v in summary.items()) + "\n")
    webhook = os.environ.get(ALERT_WEBHOOK_ENV)
    if not webhook:
        return
    try:
        status = post_alert(webhook, summary)
        context.log.info(f"alert posted, HTTP {status}")
    except (urllib.error.URLError, OSError) as exc:
        # The failure is already in the log file; an unreachable webhook must not hide it, so
        # the sensor records the delivery error there too and shows a warning in its tick log.
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"run_id={summary['run_id']}\talert_error={type(exc).__name__}\n")
        context.log.warning(f"alert webhook unreachable: {type(exc).__name__}")
