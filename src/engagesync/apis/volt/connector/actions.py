"""Volt destination actions: ``send_message`` (createMessage) and ``upsert_contact`` (createOrUpdateContact).

Records are validated locally with the sandbox contract's own rules (E.164 numbers, body or media,
body length, public media URLs), each problem naming its field. One record is one request: Volt is a
gqlgen server, and a failed non-null root field nulls the whole ``data``, so aliasing several
``createMessage`` calls in one request would lose the answers of the messages that *were* sent.
An API refusal becomes that record's reject, naming the argument the error is about.

Duplicate safety: ``createMessage`` is not idempotent. A send whose outcome is unknown (timeout,
dropped connection) is reconciled by reading the conversation with ``to`` (newest first) for an
outbound message with the same body sent since the push began; found, it is recorded as done and
never sent again. Without ``since`` (a send left ``sent`` by a crashed run) the latest identical
message counts. A message whose id the push's ledger already holds for another record is never
claimed (``claimed``): two rows with the same number and body are two texts, and the second's lost
send must not be mistaken for the first's. ``createOrUpdateContact`` is an upsert by phone number:
resending it is harmless.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ....client.actions import ActionSpec, FieldSpec, Problem, Request, Sent
from ....client.errors import (
    ApiError,
    AuthError,
    GraphQLError,
    GraphQLRequestError,
    OutcomeUnknown,
    RateLimitedError,
    RejectedError,
    ServerError,
    TransportError,
)
from ....client.http import ApiClient
from ....client.paginate import follow_cursor
from ....timefmt import parse_datetime
from ..contract import ALL_LIST, MAX_BODY_LENGTH, e164_problem, media_problems
from .client import gql
from .streams import CONTACT_FIELDS, MESSAGE_FIELDS, contact_record, conversation_fetch

Record = dict[str, Any]

SEND_MUTATION = (
    f"mutation createMessage($to: String!, $from: String!, $body: String!, $media: [String!]) {{ "
    f"createMessage(to: $to, from: $from, body: $body, media: $media) {{ {MESSAGE_FIELDS} }} }}"
)
UPSERT_MUTATION = (
    "mutation createOrUpdateContact($name: String!, $phoneNumber: String!, $accountPhone: String!, "
    "$customFields: [ContactCustomFieldInput]!, $blocked: Boolean!) { createOrUpdateContact("
    "name: $name, phoneNumber: $phoneNumber, accountPhone: $accountPhone, customFields: $customFields, "
    f"blocked: $blocked) {{ {CONTACT_FIELDS} }} }}"
)
#: Conversation pages read back when reconciling a send (newest first; the send is on the first one).
RECONCILE_PAGES = 5


# -- sending -------------------------------------------------------------------------------------
def _send_variables(record: Record) -> Record:
    out: Record = {"to": record.get("to"), "from": record.get("from"), "body": record.get("body") or ""}
    if record.get("media"):
        out["media"] = list(record["media"])
    return out


def _custom_fields(value: Any) -> list[Record]:
    """``{"key": "value"}``, ``[{"key", "value"}]`` or the JSON text of either, as the mutation's input."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, dict):
        return [{"key": str(k), "value": "" if v is None else str(v)} for k, v in value.items()]
    return [{"key": str(f["key"]), "value": str(f.get("value", ""))} for f in value]


def _upsert_variables(record: Record) -> Record:
    return {
        "name": record.get("name"),
        "phoneNumber": record.get("phoneNumber"),
        "accountPhone": record.get("accountPhone"),
        "customFields": _custom_fields(record.get("customFields")),
        "blocked": bool(record.get("blocked", False)),
    }


_ARG = re.compile(
    r"^\s*(to|from|body|media|name|phoneNumber|accountPhone|customFields|blocked|primaryPhone|listName|"
    r"querySourceListName|queryNameSearchTerm|queryCustomFields|scheduledTime|messageBody|contactNumbers|"
    r"waveName|listNames|type|status|url)\b[\s:]"
)


def field_of(error: GraphQLError) -> str | None:
    """The argument a Volt error is about: ``["variable", name]`` paths, or the name its message starts with
    (``to must be an E.164 phone number...``, ``from +1555... is not a phone number...``, ``to: contact ... is
    blocked``); the record fields carry the arguments' names."""
    if len(error.path) == 2 and error.path[0] == "variable":
        return str(error.path[1])
    match = _ARG.match(error.message)
    if match:
        return match.group(1)
    if error.message.startswith("body "):
        return "body"
    if error.message.startswith("webhook "):  # "webhook 999 not found"
        return "id"
    if error.message.startswith(f'the "{ALL_LIST}" list'):
        return "listName"
    return None


def _refused(client: ApiClient, errors: list[GraphQLError]) -> RejectedError:
    body = {"errors": [{"message": e.message, "path": list(e.path), "extensions": {"code": e.code}} for e in errors]}
    return RejectedError(
        200,
        [e.message for e in errors] or ["refused"],
        "POST",
        client.safe_url(client.base_url),
        body,
        fields=[field_of(e) for e in errors],
    )


def _one(client: ApiClient, mutation: str, root: str, variables: Record, retry: bool) -> Any:
    """One record's outcome: ``Sent(payload)``, a ``RejectedError`` naming its field, or the transport error."""
    try:
        result = gql(client).execute(mutation, variables, retry=retry)
    except GraphQLRequestError as exc:  # 422 validation, or a resolver error nulling data
        return _refused(client, exc.errors)
    except (ApiError, TransportError) as exc:  # OutcomeUnknown included: the Pusher reconciles
        return exc
    assert result.data is not None
    payload = result.data.get(root)
    if result.errors or not isinstance(payload, dict):
        return _refused(client, result.errors or [GraphQLError(f"{root} answered null", (root,))])
    return Sent(payload)


def _each(client: ApiClient, mutation: str, root: str, variables: list[Record], retry: bool) -> list[Any]:
    """One request per record until the API is found down (unreachable, 5xx/429 after the retries, or the
    credential refused): the records after that are not sent, and say so (``maybe_sent=False``)."""
    outcomes: list[Any] = []
    for values in variables:
        if outcomes and _stops(outcomes[-1]):
            url = client.safe_url(client.base_url)
            outcomes.append(TransportError("not sent: the API could not be reached", "POST", url, maybe_sent=False))
            continue
        outcomes.append(_one(client, mutation, root, values, retry))
    return outcomes


def _stops(outcome: Any) -> bool:
    if isinstance(outcome, OutcomeUnknown):
        return False  # this one may have been sent: the push reconciles it; the next ones still go
    return isinstance(outcome, TransportError | ServerError | RateLimitedError | AuthError)


def send_messages(client: ApiClient, records: list[Record], retry: bool = True) -> list[Any]:
    """``createMessage`` for each record, one request each (see the module's note); one outcome per record."""
    return _each(client, SEND_MUTATION, "createMessage", [_send_variables(r) for r in records], retry)


def upsert_contacts(client: ApiClient, records: list[Record], retry: bool = True) -> list[Any]:
    """``createOrUpdateContact`` for each record; the payload is the contact as the ``contacts`` stream stores it."""
    outcomes = _each(client, UPSERT_MUTATION, "createOrUpdateContact", [_upsert_variables(r) for r in records], retry)
    return [Sent(contact_record(o.body)) if isinstance(o, Sent) else o for o in outcomes]


# -- validation ----------------------------------------------------------------------------------
def _phone(record: Record, name: str) -> list[Problem]:
    value = record.get(name)
    problem = None if value is None else e164_problem(name, value)
    return [] if problem is None else [(name, problem.removeprefix(f"{name} "))]  # rejects read "<field> <reason>"


def validate_send(record: Record) -> list[Problem]:
    problems = _phone(record, "to") + _phone(record, "from")
    body, media = record.get("body") or "", record.get("media")
    if isinstance(media, list):
        problems.extend(("media", p.removeprefix("media ")) for p in media_problems(media))
    if not str(body).strip() and not media:
        problems.append(("body", "can't be blank (or attach media)"))
    if len(str(body)) > MAX_BODY_LENGTH:
        problems.append(("body", f"is longer than {MAX_BODY_LENGTH} characters ({len(str(body))})"))
    return problems


def validate_upsert(record: Record) -> list[Problem]:
    problems = _phone(record, "phoneNumber") + _phone(record, "accountPhone")
    if record.get("name") is not None and not str(record["name"]).strip():
        problems.append(("name", "can't be blank"))
    try:
        fields = _custom_fields(record.get("customFields"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return [
            *problems,
            (
                "customFields",
                f"must be an object of key: value, or a list of {{key, value}} (got {record.get('customFields')!r})",
            ),
        ]
    if any(not f["key"].strip() for f in fields):
        problems.append(("customFields", "key must not be blank"))
    return problems


def _normalize_send(record: Record) -> Record:
    out = {k: v.strip() if k in ("to", "from") and isinstance(v, str) else v for k, v in record.items()}
    media = out.get("media")
    if isinstance(media, str):  # a CSV cell: URLs separated by commas or spaces
        out["media"] = [m for m in re.split(r"[,\s]+", media) if m]
    return out


def _normalize_upsert(record: Record) -> Record:
    return {
        k: v.strip() if k in ("phoneNumber", "accountPhone", "name") and isinstance(v, str) else v
        for k, v in record.items()
    }


# -- reconcile -----------------------------------------------------------------------------------
def _epoch(text: Any) -> float | None:
    try:
        return parse_datetime(str(text)).timestamp()
    except ValueError:
        return None


def reconcile_send(
    client: ApiClient,
    record: Record,
    since: float | None = None,
    claimed: Callable[[str], bool] | None = None,
) -> Record | None:
    """The message a send whose outcome was unknown created, or ``None``: the newest outbound message to
    ``to`` with the same body (and media) sent at or after ``since``, from the conversation's first pages,
    that no other record already holds (``claimed(id)``)."""
    variables = _send_variables(record)
    media = variables.get("media") or []
    fetch = conversation_fetch(client, str(variables["from"]), str(variables["to"]))
    try:
        for pages, (messages, _) in enumerate(follow_cursor(fetch), start=1):
            for message in messages:  # newest first
                sent_at = _epoch(message.get("sentAt"))
                if since is not None and sent_at is not None and sent_at < since - 1.0:
                    return None  # older than the push: the send never arrived
                if (
                    message.get("toNumber") == variables["to"]
                    and message.get("body") == variables["body"]
                    and list(message.get("media") or []) == media
                    and not (claimed is not None and claimed(str(message.get("id"))))
                ):
                    return dict(message)
            if pages >= RECONCILE_PAGES:
                break
    except GraphQLRequestError:  # Volt refuses the conversation (e.g. an unknown ``from``): nothing was sent
        return None
    return None


def _request(mutation: str, variables: Record) -> Request:
    return Request("POST", "", {"query": mutation, "variables": variables})


def actions() -> dict[str, ActionSpec]:
    send = ActionSpec(
        name="send_message",
        title="Send a text message",
        method="POST",
        path="",
        fields=(
            FieldSpec("to", "Number to send to (E.164, e.g. +15555550123)", required=True, type="string"),
            FieldSpec("from", "Primary number of the Volt account (E.164)", required=True, type="string"),
            FieldSpec(
                "body",
                f"Text of the message (up to {MAX_BODY_LENGTH} characters; blank only with media)",
                type="string",
            ),
            FieldSpec("media", "Public http(s) URLs to attach (a list, or comma-separated)", type="array"),
        ),
        description="createMessage, one request per record; a send whose outcome is unknown is looked up in "
        "the conversation before it is sent again",
        creates=True,
        validate_extra=validate_send,
        normalize=_normalize_send,
        reconcile=reconcile_send,
        id_path="id",
        send_batch=send_messages,
        request_builder=lambda r: _request(SEND_MUTATION, _send_variables(r)),
    )
    upsert = ActionSpec(
        name="upsert_contact",
        title="Create or update a contact",
        method="POST",
        path="",
        fields=(
            FieldSpec("phoneNumber", "The contact's number (E.164); the upsert key", required=True, type="string"),
            FieldSpec("accountPhone", "Primary number of the Volt account (E.164)", required=True, type="string"),
            FieldSpec("name", "Display name", required=True, type="string"),
            FieldSpec(
                "customFields",
                "Custom fields: {key: value} or [{key, value}] (JSON in a CSV cell); fields not named are kept",
                type="any",
            ),
            FieldSpec("blocked", "Block the contact (default false: an upsert unblocks)", type="boolean"),
        ),
        description="createOrUpdateContact (an upsert by phone number: safe to resend)",
        validate_extra=validate_upsert,
        normalize=_normalize_upsert,
        id_path="id",
        send_batch=upsert_contacts,
        request_builder=lambda r: _request(UPSERT_MUTATION, _upsert_variables(r)),
    )
    return {a.name: a for a in (send, upsert)}
