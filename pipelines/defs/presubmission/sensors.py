"""Outgoing sensor: each new or changed claims file in `outgoing/claims/` is scored once."""

from __future__ import annotations

import json
import os
import time

import dagster as dg

from pipelines.defs.operations.sensors import changed_files, scan_landing
from pipelines.defs.presubmission.assets import presubmission_job
from pipelines.settings import ProductSettings


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dg.sensor(
    name="outgoing_files_sensor",
    job=presubmission_job,
    minimum_interval_seconds=_env_int("DENIAL_RISK_OUTGOING_SENSOR_INTERVAL", 30),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Score each new or changed claims file in outgoing/claims once, beside the exports.",
)
def outgoing_files_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run per new or changed settled claims file; the run key makes it once per version."""
    claims = ProductSettings().outgoing / "claims"
    settle = _env_int("DENIAL_RISK_LANDING_SETTLE_SECONDS", 10)
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    current = scan_landing(claims, now=time.time(), settle_seconds=settle)
    changed = changed_files(seen, current)
    next_cursor = {p: s for p, s in seen.items() if (claims / p).exists()} | current
    requests = [
        dg.RunRequest(
            run_key=f"outgoing:{path}:{current[path]}",
            run_config={
                "ops": {"presubmission_scores": {"config": {"claims_file": str(claims / path)}}}
            },
            tags={"denial_risk/trigger": "outgoing"},
        )
        for path in changed
    ]
    return dg.SensorResult(
        run_requests=requests,
        skip_reason=None if requests else f"no new or changed files in {claims}",
        cursor=json.dumps(next_cursor, sort_keys=True),
    )
