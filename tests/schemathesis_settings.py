"""What the bounded schemathesis runs of the REST emulators share (each file says why checks are left out)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

#: Credentials are sent by the tests, not generated; response format validation stays on.
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})


def bounded(examples: int) -> settings:
    """``examples`` per operation (positive and negative mixed), derandomized (the same cases on every
    run), no example database, no shrinking (a failure is reported as found): well under a minute."""
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=True,
    )
