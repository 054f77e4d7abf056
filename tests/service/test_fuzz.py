"""Property-based fuzz of the HTTP API from its own /openapi.json: no answer is a 500."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from service_helpers import TOKEN

from service.app import create_app
from service.settings import ServiceSettings

# 837P bodies are text; FHIR JSON is JSON: generate them as such.
schemathesis.serializer.alias("application/edi-x12", "text/plain")
schemathesis.serializer.alias("application/fhir+json", "application/json")

AUTH = {"Authorization": f"Bearer {TOKEN}"}


# The published schema does not depend on the warehouse (only on whether a token is set), so it
# is read from the app object at collection; the cases are sent to the real server.
schema = schemathesis.openapi.from_dict(
    create_app(ServiceSettings(Path("unused.duckdb"), Path("unused"), token=TOKEN)).openapi()
)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_the_service_fail(case, service_url):
    response = case.call(base_url=service_url, headers=AUTH, timeout=60)
    assert response.status_code < 500, (
        f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
    )
    assert response.status_code in (200, 401, 405, 413, 415, 422), response.status_code
