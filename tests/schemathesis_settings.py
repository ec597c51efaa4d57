"""What the bounded schemathesis runs of the REST emulators share (each file says why checks are left out)."""

from __future__ import annotations

import schemathesis
import schemathesis.specs.openapi.checks
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CHECKS as REGISTRY

#: Every check schemathesis has, the leniency ones (negative_data_rejection, positive_data_acceptance)
#: and the method/Allow ones included: the documents state the rules the emulators enforce.
CHECKS = REGISTRY.get_all()

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
