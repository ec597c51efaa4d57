"""Groove sales destination actions: ``add_person_to_flow``, batched with GraphQL aliases.

The API's only mutation adds one person to one flow, and the limit is 100 requests a minute. One
request can carry many mutations under aliases (``a0: addPersonToFlow(input: $i0) {...} a1: ...``), so
a batch of N records costs one request (two when some records name a Salesforce id, resolved first
with aliased ``findPersonBySalesforceId`` lookups); each alias's error becomes that record's reject.

Duplicate safety: Groove refuses to add a person twice ("Person is already in this Flow"), and that
answer counts as done, so the action is idempotent. The schema has no query telling whether a
person is in a flow, so a batch whose outcome is unknown (timeout, dropped connection) is
reconciled record by record by asking the API itself: sending the add again answers "added" or
"already in this Flow", and either way nothing is added twice.
"""

from __future__ import annotations

from typing import Any

from ....client.actions import ActionSpec, FieldSpec, Problem, Request, Sent
from ....client.errors import ApiError, GraphQLError, GraphQLRequestError, RejectedError, TransportError
from ....client.graphql import GraphQLResult
from ....client.http import ApiClient
from .client import gql
from .streams import people_query

#: What an added person-flow returns (the ledger keeps the person id, responses keep all of it).
PAYLOAD = "personFlow { createdAt flow { id name } person { id name emailAddress } }"
#: Salesforce lookups per request.
LOOKUPS_PER_REQUEST = 100
ALREADY_IN_FLOW = "ALREADY_IN_FLOW"


def mutation(count: int) -> str:
    """``count`` aliased ``addPersonToFlow`` calls in one anonymous mutation (fault rules and the
    journal see its first field, ``addPersonToFlow``)."""
    params = ", ".join(f"$i{i}: AddPersonToFlowInput!" for i in range(count))
    fields = " ".join(f"a{i}: addPersonToFlow(input: $i{i}) {{ {PAYLOAD} }}" for i in range(count))
    return f"mutation ({params}) {{ {fields} }}"


def _validate(record: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    person, sf = record.get("personId"), record.get("salesforceId")
    if person is None and sf is None:
        problems.append(("personId", "can't be blank (give personId, or salesforceId to look the person up)"))
    if person is None and sf is not None:
        text = str(sf).strip()
        if len(text) not in (15, 18) or not text.isalnum():
            problems.append(("salesforceId", f"must be a 15- or 18-character Salesforce id (got {sf!r})"))
    return problems


def _normalize(record: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v).strip() if k in ("flowId", "personId", "salesforceId") else v for k, v in record.items()}


def build_request(record: dict[str, Any]) -> Request:
    """One record's request as a preview shows it (a Salesforce id is looked up first when sent)."""
    person = record.get("personId") or f"<findPersonBySalesforceId(salesforceId: {record.get('salesforceId')!r})>"
    return Request(
        "POST", "", {"query": mutation(1), "variables": {"i0": {"flowId": record.get("flowId"), "personId": person}}}
    )


def _refused(client: ApiClient, errors: list[GraphQLError], record: dict[str, Any] | None = None) -> RejectedError:
    body = {"errors": [{"message": e.message, "path": list(e.path), "extensions": {"code": e.code}} for e in errors]}
    return RejectedError(
        200,
        [e.message for e in errors] or ["refused"],
        "POST",
        client.safe_url(client.base_url),
        body,
        fields=[field_of(e, record or {}) for e in errors],
    )


def field_of(error: GraphQLError, record: dict[str, Any]) -> str | None:
    """The record field a Groove error is about, so a reject names it (line, field, reason).

    graphql-ruby names no argument in a resolver's error, so it is read from what the error says:
    the missing Flow is ``flowId``; the missing Person is ``personId``, or ``salesforceId`` when the
    record named the person that way; a variable or argument error that quotes an input field names it.
    """
    text = error.message
    by_salesforce = not record.get("personId") and bool(record.get("salesforceId"))
    if "findPersonBySalesforceId" in text or "Salesforce id" in text:
        return "salesforceId"
    if "Couldn't find Flow" in text:
        return "flowId"
    if "Couldn't find Person" in text or "already in this Flow" in text:
        return "salesforceId" if by_salesforce else "personId"
    for name in ("flowId", "personId", "salesforceId"):
        if name in text:
            return "salesforceId" if name == "personId" and by_salesforce else name
    return None


def _already(errors: list[GraphQLError]) -> bool:
    return any(e.code == ALREADY_IN_FLOW or "already in this flow" in e.message.lower() for e in errors)


def _resolve_people(
    client: ApiClient,
    records: list[dict[str, Any]],
    outcomes: list[Any],
    retry: bool,
) -> dict[int, dict[str, str]]:
    """Index -> mutation input, looking Salesforce ids up in aliased batches; misses become rejects."""
    inputs: dict[int, dict[str, str]] = {}
    lookups: list[tuple[int, str]] = []
    for i, record in enumerate(records):
        if record.get("personId"):
            inputs[i] = {"flowId": str(record["flowId"]), "personId": str(record["personId"])}
        else:
            lookups.append((i, str(record["salesforceId"])))
    runner = gql(client)
    for start in range(0, len(lookups), LOOKUPS_PER_REQUEST):
        chunk = lookups[start : start + LOOKUPS_PER_REQUEST]
        try:
            result = runner.execute(
                people_query(len(chunk)), {f"s{k}": sf for k, (_, sf) in enumerate(chunk)}, retry=retry
            )
        except GraphQLRequestError as exc:
            for i, _ in chunk:
                outcomes[i] = _refused(client, exc.errors, records[i])
            continue
        except (ApiError, TransportError) as exc:
            for i, _ in chunk:
                outcomes[i] = exc
            continue
        assert result.data is not None
        for k, (i, sf) in enumerate(chunk):
            person = result.data.get(f"p{k}")
            errors = result.errors_for(f"p{k}")
            if errors:
                outcomes[i] = _refused(client, errors, records[i])
            elif not isinstance(person, dict):
                outcomes[i] = _refused(
                    client,
                    [
                        GraphQLError(
                            f"No person with Salesforce id {sf} (findPersonBySalesforceId returned null)",
                            (),
                            "NOT_FOUND",
                        )
                    ],
                    records[i],
                )
            else:
                inputs[i] = {"flowId": str(records[i]["flowId"]), "personId": str(person["id"])}
    return inputs


def send_batch(client: ApiClient, records: list[dict[str, Any]], retry: bool = True) -> list[Any]:
    """Add every record's person to its flow in one aliased mutation; one outcome per record."""
    outcomes: list[Any] = [None] * len(records)
    inputs = _resolve_people(client, records, outcomes, retry)
    order = sorted(inputs)
    if not order:
        return outcomes
    try:
        result = gql(client).execute(
            mutation(len(order)), {f"i{k}": inputs[i] for k, i in enumerate(order)}, retry=retry
        )
    except GraphQLRequestError as exc:
        for i in order:
            outcomes[i] = _refused(client, exc.errors, records[i])
        return outcomes
    except (ApiError, TransportError) as exc:  # OutcomeUnknown included: the Pusher reconciles
        for i in order:
            outcomes[i] = exc
        return outcomes
    for k, i in enumerate(order):
        outcomes[i] = _outcome(client, result, f"a{k}", inputs[i], records[i])
    return outcomes


def _outcome(client: ApiClient, result: GraphQLResult, alias: str, sent: dict[str, str], record: dict[str, Any]) -> Any:
    assert result.data is not None
    payload = result.data.get(alias)
    errors = result.errors_for(alias) or ([] if payload is not None else result.unplaced_errors())
    if _already(errors):  # idempotent: the person is in the flow, which is what was asked
        return Sent(
            {
                "alreadyInFlow": True,
                "message": errors[0].message,
                "personFlow": {"flow": {"id": sent["flowId"]}, "person": {"id": sent["personId"]}},
            }
        )
    if errors:
        return _refused(client, errors, record)
    if not isinstance(payload, dict):
        return _refused(client, [GraphQLError(f"addPersonToFlow answered null for {alias}", (alias,))], record)
    return Sent(payload)


def reconcile(client: ApiClient, record: dict[str, Any], since: float | None = None) -> Any:
    """Whether an add whose outcome was unknown took effect: asking again answers "added" or "already
    in this Flow", both meaning the person is in the flow now (the API never adds twice)."""
    outcome = send_batch(client, [record])[0]
    return outcome.body if isinstance(outcome, Sent) else None


def actions() -> dict[str, ActionSpec]:
    add = ActionSpec(
        name="add_person_to_flow",
        title="Add a person to a flow",
        method="POST",
        path="",
        fields=(
            FieldSpec("flowId", "Id of the flow (sequence)", required=True, type="string"),
            FieldSpec("personId", "Groove person id (or give salesforceId)", type="string"),
            FieldSpec(
                "salesforceId",
                "Salesforce Contact/Lead id (15 or 18 characters), looked up with "
                "findPersonBySalesforceId when personId is not given",
                type="string",
            ),
        ),
        description="addPersonToFlow, many records per request through GraphQL aliases (--batch-size); "
        "'already in this Flow' counts as done",
        creates=True,
        validate_extra=_validate,
        normalize=_normalize,
        reconcile=reconcile,
        id_path="personFlow.person.id",
        send_batch=send_batch,
        request_builder=build_request,
    )
    return {add.name: add}
