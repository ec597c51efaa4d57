"""What the bounded schemathesis runs of the REST emulators share: every check, the same bounds."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import schemathesis
import schemathesis.specs.openapi.checks
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CHECKS as REGISTRY
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

Check = Callable[..., Any]

#: Credentials are sent by the tests, not generated. Unknown query parameters and body keys are ignored
#: by both emulators (Rails strong parameters; GrowthGenius likewise), so adding one does not make a
#: request invalid: such cases are not generated as negative ones.
CONFIG = schemathesis.Config.from_dict(
    {"generation": {"with-security-parameters": False, "allow-extra-parameters": False}}
)


def _error_texts(content: bytes) -> list[str]:
    """``field message`` for each error of a Rails-style (list) or GrowthGenius-style (dict) body."""
    try:
        errors = json.loads(content).get("errors")
    except (ValueError, AttributeError):
        return []
    if isinstance(errors, dict):
        return [f"{field} {m}" for field, messages in errors.items() for m in messages]
    return [str(e) for e in errors] if isinstance(errors, list) else []


def checks(account_rules: Iterable[str] = ()) -> list[Check]:
    """Every registered check; ``positive_data_acceptance`` lets a 422 through only when each of its
    errors matches ``account_rules``: rules about what the account holds (an agent that must exist, an
    email that must be free, a team member), which no document can state and random data rarely meets.
    Everything a schema can state (types, enums, lengths, patterns, required, exclusive fields) is stated."""
    rules = [re.compile(r) for r in account_rules]

    def positive_data_acceptance_within_account_rules(ctx: Any, response: Any, case: Any) -> bool | None:
        if response.status_code == 422:
            texts = _error_texts(response.content)
            if texts and all(any(r.match(t) for r in rules) for t in texts):
                return None
        result: bool | None = positive_data_acceptance(ctx, response, case)
        return result

    replaced = {
        positive_data_acceptance: positive_data_acceptance_within_account_rules,
        negative_data_rejection: negative_data_rejection_as_sent,
    }
    return [replaced.get(check, check) for check in REGISTRY.get_all()]


#: Where the tests' hooks put known-good values (seeded ids, emails) in place of generated ones.
HOOKED = (ParameterLocation.PATH, ParameterLocation.QUERY, ParameterLocation.BODY)


def negative_data_rejection_as_sent(ctx: Any, response: Any, case: Any) -> bool | None:
    """``negative_data_rejection``, judged on the request as sent.

    The hooks cannot tell a negative case from a positive one, so they may swap the one invalid value
    (a mutated enum, a customer hash of the wrong type) for a seeded id or email; schemathesis still
    calls the case negative. If every part it negated now validates, the request was valid after all."""
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative and response.status_code < 400:
        negated = [loc for loc in ParameterLocation if meta.is_negative_at(loc)]
        validator = case.operation.schema.adapter.jsonschema_validator_cls
        if negated and set(negated) <= set(HOOKED):
            values = {loc: case.body if loc is ParameterLocation.BODY else case.get_container(loc) for loc in negated}
            if all(case._validate_component(loc, value, validator) for loc, value in values.items()):
                return None
    result: bool | None = negative_data_rejection(ctx, response, case)
    return result


#: Every check schemathesis has, with no account rule allowed (the rate-limit and auth tests use it).
CHECKS = checks()


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
