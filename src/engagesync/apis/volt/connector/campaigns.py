"""Volt destination actions beyond texting: lists, scheduled messages and waves, webhooks.

- ``create_or_update_list`` (createOrUpdateList): an upsert by list name, safe to resend;
- ``schedule_message`` (scheduleMessage) and ``schedule_wave`` (scheduleWave): each creates a wave;
- ``register_webhook`` (registerWebhook) and ``delete_webhook`` (deleteWebhook).

Records carry the operation's arguments by name (the nested ``listQuery``, ``message`` and ``wave``
inputs flattened), and are checked locally by the same rules the emulator's resolvers apply
(``contract``: one contract); what needs the organization's data (does the list exist, is the field
defined) is the API's to refuse, and its refusal names the argument.

Duplicate safety, where an outcome can be unknown (a lost response, a crash after sending):
- a schedule is looked up among the newest waves: the schema lists no waves, but ``wave(id)`` takes
  the numeric id, which increases per organization (from ``contract.WAVE_ID_FLOOR``), so the newest id
  is found by probing (doubling, then halving) and the newest ``RECONCILE_WAVES`` are compared with
  the record (type, name, body, media, scheduled time, lists); a wave the ledger holds for another
  record is never claimed. Waves carry no creation time, so an identical wave scheduled earlier by
  someone else could be taken for this one (docs/fidelity.md);
- a webhook registration is looked up by URL in ``webhooks``; a deletion is done once the id is gone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ....client.actions import ActionSpec, FieldSpec, Problem, Sent
from ....client.http import ApiClient
from ....timefmt import parse_datetime
from .. import contract
from .actions import Record, _each, _phone, _request
from .client import gql
from .streams import LIST_FIELDS, WAVE_FIELDS, WAVE_QUERY, WEBHOOKS_QUERY, list_record, wave_record, waves_query

WEBHOOK_FIELDS = "id url createdAt lastUpdatedAt"
LIST_MUTATION = (
    "mutation createOrUpdateList($primaryPhone: String!, $listQuery: ListQuery!) { "
    f"createOrUpdateList(primaryPhone: $primaryPhone, listQuery: $listQuery) {{ {LIST_FIELDS} }} }}"
)
SCHEDULE_MESSAGE_MUTATION = (
    "mutation scheduleMessage($primaryPhone: String!, $message: MessageSchedulingJob!) { "
    f"scheduleMessage(primaryPhone: $primaryPhone, message: $message) {{ {WAVE_FIELDS} }} }}"
)
SCHEDULE_WAVE_MUTATION = (
    "mutation scheduleWave($type: WaveType!, $primaryPhone: String, $status: NewWaveStatus!, "
    "$wave: WaveSchedulingJob!) { scheduleWave(type: $type, primaryPhone: $primaryPhone, status: $status, "
    f"wave: $wave) {{ {WAVE_FIELDS} }} }}"
)
REGISTER_MUTATION = f"mutation registerWebhook($url: String!) {{ registerWebhook(url: $url) {{ {WEBHOOK_FIELDS} }} }}"
DELETE_MUTATION = f"mutation deleteWebhook($id: ID!) {{ deleteWebhook(id: $id) {{ {WEBHOOK_FIELDS} }} }}"
#: How many of the newest waves a schedule whose outcome was unknown is looked for among.
RECONCILE_WAVES = 50
WAVE_TYPES = ("account", "organization")
WAVE_STATUSES = ("scheduled", "draft")


# -- records as the operations' arguments ------------------------------------------------------------
def _items(value: Any, separators: str = r"[,;\s]+") -> list[str]:
    """A list, the JSON text of one, or a CSV cell of items separated by ``separators``."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                return [text]
        else:
            return [v.strip() for v in re.split(separators, text) if v.strip()]
    return [str(v).strip() for v in value] if isinstance(value, list) else [str(value)]


def _rules(value: Any) -> list[Any]:
    """``queryCustomFields``: ``[{field, operator, queryValue}]`` or its JSON text; a value that is not
    text is JSON-serialized, as the argument documents."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, dict):
        value = [value]
    out: list[Any] = []
    for rule in value:
        if isinstance(rule, dict) and "queryValue" in rule and not isinstance(rule["queryValue"], str):
            rule = {**rule, "queryValue": json.dumps(rule["queryValue"])}
        out.append(rule)
    return out


def _list_variables(record: Record) -> Record:
    query: Record = {"listName": record.get("listName")}
    for name in ("querySourceListName", "queryNameSearchTerm"):
        if record.get(name) is not None:
            query[name] = record[name]
    if record.get("queryCustomFields") not in (None, ""):
        query["queryCustomFields"] = _rules(record["queryCustomFields"])
    return {"primaryPhone": record.get("primaryPhone"), "listQuery": query}


def _media(record: Record) -> list[str]:
    return _items(record.get("media"))


def _schedule_message_variables(record: Record) -> Record:
    job: Record = {
        "scheduledTime": record.get("scheduledTime"),
        "messageBody": record.get("messageBody") or "",
        "contactNumbers": _items(record.get("contactNumbers")),
    }
    if _media(record):
        job["media"] = _media(record)
    return {"primaryPhone": record.get("primaryPhone"), "message": job}


def _schedule_wave_variables(record: Record) -> Record:
    job: Record = {
        "waveName": record.get("waveName"),
        "scheduledTime": record.get("scheduledTime"),
        "messageBody": record.get("messageBody") or "",
        "listNames": _items(record.get("listNames"), _LIST_FIELDS["listNames"]),
    }
    if _media(record):
        job["media"] = _media(record)
    out: Record = {"type": record.get("type"), "status": record.get("status") or "scheduled", "wave": job}
    if record.get("primaryPhone"):
        out["primaryPhone"] = record["primaryPhone"]
    return out


# -- validation: the contract's rules, as (field, reason) ---------------------------------------------
def _problems(rules: list[contract.Rule]) -> list[Problem]:
    """Rejects read ``<field> <reason>``: the contract's message without its leading argument name."""
    out: list[Problem] = []
    for name, message in rules:
        for prefix in (f"{name} ", f"{name}: "):
            if message.startswith(prefix):
                message = message[len(prefix) :]
                break
        out.append((name, message))
    return out


def _unreadable(name: str, value: Any, shape: str) -> list[Problem]:
    return [(name, f"must be {shape} (got {value!r})")]


def validate_list(record: Record) -> list[Problem]:
    problems = _phone(record, "primaryPhone")
    try:
        variables = _list_variables(record)
    except (ValueError, TypeError):
        return problems + _unreadable(
            "queryCustomFields", record.get("queryCustomFields"), "a list of {field, operator, queryValue} (JSON)"
        )
    return problems + _problems(contract.list_query_problems(variables["listQuery"]))


def validate_schedule_message(record: Record) -> list[Problem]:
    job = _schedule_message_variables(record)["message"]
    rules = contract.schedule_message_problems(
        job["contactNumbers"], job["messageBody"], job.get("media"), job["scheduledTime"]
    )
    return _phone(record, "primaryPhone") + _problems(rules)


def validate_schedule_wave(record: Record) -> list[Problem]:
    variables = _schedule_wave_variables(record)
    job = variables["wave"]
    rules = contract.schedule_wave_problems(
        str(variables["type"]),
        variables.get("primaryPhone"),
        str(job["waveName"] or ""),
        job["messageBody"],
        job.get("media"),
        job["listNames"],
        job["scheduledTime"],
    )
    return _phone(record, "primaryPhone") + _problems(rules)


def validate_register(record: Record) -> list[Problem]:
    rule = contract.webhook_url_problem(record.get("url"))
    return _problems([rule]) if rule and record.get("url") is not None else []


def validate_delete(record: Record) -> list[Problem]:
    rule = contract.webhook_id_problem(record.get("id"))
    return [("id", f"must be the number registerWebhook returned (got {record.get('id')!r})")] if rule else []


#: List fields a CSV cell gives as text, and how its items are separated (list names may hold spaces).
_LIST_FIELDS = {"contactNumbers": r"[,;\s]+", "media": r"[,;\s]+", "listNames": r"\s*[,;]\s*"}


def _strip(*names: str) -> Callable[[Record], Record]:
    """Trim the text fields ``names``; turn a list field's text (a CSV cell, or JSON) into a list."""

    def normalize(record: Record) -> Record:
        out = {k: v.strip() if k in names and isinstance(v, str) else v for k, v in record.items()}
        for name, separators in _LIST_FIELDS.items():
            if isinstance(out.get(name), str):
                out[name] = _items(out[name], separators)
        return out

    return normalize


# -- sending -------------------------------------------------------------------------------------------
def _sender(mutation: str, root: str, variables: Callable[[Record], Record], shape: Callable[[Any], Any]) -> Any:
    def send(client: ApiClient, records: list[Record], retry: bool = True) -> list[Any]:
        outcomes = _each(client, mutation, root, [variables(r) for r in records], retry)
        return [Sent(shape(o.body)) if isinstance(o, Sent) else o for o in outcomes]

    return send


def _webhook(hook: Any) -> Record:
    return {**hook, "id": str(hook["id"])}


# -- reconcile -----------------------------------------------------------------------------------------
def _epoch(text: Any) -> float | None:
    try:
        return parse_datetime(str(text)).timestamp()
    except ValueError:
        return None


def newest_wave_id(client: ApiClient) -> int | None:
    """The organization's highest wave id, by probing ``wave(id)`` upward from ``WAVE_ID_FLOOR`` (doubling
    steps, then halving): ids increase per organization; ``None`` when it has no wave."""
    runner = gql(client)

    def exists(wave_id: int) -> bool:
        return isinstance(runner.query(WAVE_QUERY, {"id": str(wave_id)})["wave"], dict)

    low = contract.WAVE_ID_FLOOR
    if not exists(low):
        return None
    step = 1
    while exists(low + step):
        low, step = low + step, step * 2
    high = low + step  # absent
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if exists(middle) else (low, middle)
    return low


def _newest_waves(client: ApiClient) -> list[Record]:
    """The newest ``RECONCILE_WAVES`` waves, newest first (25 per request, aliased)."""
    top = newest_wave_id(client)
    if top is None:
        return []
    ids = [str(i) for i in range(top, max(contract.WAVE_ID_FLOOR, top - RECONCILE_WAVES + 1) - 1, -1)]
    runner, out = gql(client), []
    for start in range(0, len(ids), 25):
        chunk = ids[start : start + 25]
        data = runner.query(waves_query(len(chunk)), {f"i{i}": w for i, w in enumerate(chunk)})
        out += [wave_record(w) for i in range(len(chunk)) if isinstance(w := data.get(f"w{i}"), dict)]
    return out


def _find_wave(
    client: ApiClient, same: Callable[[Record], bool], claimed: Callable[[str], bool] | None
) -> Record | None:
    for wave in _newest_waves(client):
        if same(wave) and not (claimed is not None and claimed(wave["id"])):
            return wave
    return None


def _same_job(wave: Record, job: Record) -> bool:
    at = _epoch(wave.get("scheduledTime"))
    try:
        wanted = contract.parse_scheduled_time(str(job["scheduledTime"]))
    except ValueError:
        return False
    return (
        wave.get("body") == job["messageBody"]
        and list(wave.get("media") or []) == list(job.get("media") or [])
        and at is not None
        and abs(at - wanted) < 1.0
    )


def reconcile_schedule_message(
    client: ApiClient, record: Record, since: float | None = None, claimed: Callable[[str], bool] | None = None
) -> Record | None:
    """The wave a ``scheduleMessage`` whose outcome was unknown created, or ``None``."""
    job = _schedule_message_variables(record)["message"]
    return _find_wave(client, lambda w: w.get("type") == "contact" and _same_job(w, job), claimed)


def reconcile_schedule_wave(
    client: ApiClient, record: Record, since: float | None = None, claimed: Callable[[str], bool] | None = None
) -> Record | None:
    """The wave a ``scheduleWave`` whose outcome was unknown created, or ``None``."""
    variables = _schedule_wave_variables(record)
    job = variables["wave"]
    kind = contract.WAVE_TYPE_RENDERED.get(str(variables["type"]))
    names = set(job["listNames"])

    def same(wave: Record) -> bool:
        lists = {str(lst.get("name")) for lst in wave.get("lists") or [] if isinstance(lst, dict)}
        return (
            wave.get("type") == kind
            and wave.get("name") == str(job["waveName"]).strip()
            and lists == names
            and _same_job(wave, job)
        )

    return _find_wave(client, same, claimed)


def _webhooks(client: ApiClient) -> list[Record]:
    return [_webhook(h) for h in gql(client).query(WEBHOOKS_QUERY)["webhooks"] or [] if isinstance(h, dict)]


def reconcile_register(
    client: ApiClient, record: Record, since: float | None = None, claimed: Callable[[str], bool] | None = None
) -> Record | None:
    """The webhook registered for the record's URL, or ``None``."""
    for hook in _webhooks(client):
        if hook.get("url") == record.get("url") and not (claimed is not None and claimed(hook["id"])):
            return hook
    return None


def reconcile_delete(client: ApiClient, record: Record, since: float | None = None) -> Record | None:
    """Done once the webhook is gone (deleted by the lost request, or by anyone); ``None`` while it exists."""
    wanted = str(record.get("id")).strip()
    if any(hook["id"] == wanted for hook in _webhooks(client)):
        return None
    return {"id": wanted, "deleted": True}


# -- the templates ---------------------------------------------------------------------------------------
_PRIMARY = FieldSpec("primaryPhone", "Primary number of the Volt account (E.164)", required=True, type="string")
_WHEN = FieldSpec("scheduledTime", 'When to send, UTC "YYYY-MM-DD HH:MM:SS"', required=True, type="string")
_BODY = FieldSpec(
    "messageBody",
    f"Text (up to {contract.MAX_BODY_LENGTH} characters; {{contact.first_name}} placeholders; blank only with media)",
    type="string",
)
_MEDIA = FieldSpec("media", "Public http(s) URLs to attach (a list, or comma-separated)", type="array")


def campaign_actions() -> list[ActionSpec]:
    """The list, schedule and webhook templates (``actions()`` of the connector adds them)."""
    return [
        ActionSpec(
            name="create_or_update_list",
            title="Create or update a contact list",
            method="POST",
            path="",
            fields=(
                _PRIMARY,
                FieldSpec(
                    "listName", "Name of the list, unique per account; the upsert key", required=True, type="string"
                ),
                FieldSpec("querySourceListName", "List the query filters (default: All)", type="string"),
                FieldSpec("queryNameSearchTerm", "Keep contacts whose name contains this", type="string"),
                FieldSpec(
                    "queryCustomFields",
                    "Rules: [{field, operator, queryValue}] (JSON in a CSV cell); operators "
                    + ", ".join(contract.LIST_OPERATORS),
                ),
            ),
            description="createOrUpdateList (an upsert by list name: safe to resend)",
            validate_extra=validate_list,
            normalize=_strip("primaryPhone", "listName", "querySourceListName"),
            id_path="id",
            send_batch=_sender(LIST_MUTATION, "createOrUpdateList", _list_variables, list_record),
            request_builder=lambda r: _request(LIST_MUTATION, _list_variables(r)),
        ),
        ActionSpec(
            name="schedule_message",
            title="Schedule a text to some numbers",
            method="POST",
            path="",
            fields=(
                _PRIMARY,
                FieldSpec(
                    "contactNumbers", "E.164 numbers (a list, or separated by commas)", required=True, type="array"
                ),
                _WHEN,
                _BODY,
                _MEDIA,
            ),
            description="scheduleMessage (creates a wave); an unknown outcome is looked up among the newest waves",
            creates=True,
            validate_extra=validate_schedule_message,
            normalize=_strip("primaryPhone", "scheduledTime"),
            reconcile=reconcile_schedule_message,
            id_path="id",
            send_batch=_sender(SCHEDULE_MESSAGE_MUTATION, "scheduleMessage", _schedule_message_variables, wave_record),
            request_builder=lambda r: _request(SCHEDULE_MESSAGE_MUTATION, _schedule_message_variables(r)),
        ),
        ActionSpec(
            name="schedule_wave",
            title="Schedule a wave to lists",
            method="POST",
            path="",
            fields=(
                FieldSpec("type", "account (one account's lists) or organization", required=True, enum=WAVE_TYPES),
                FieldSpec("primaryPhone", "Primary number of the account (required for an account wave)"),
                FieldSpec("status", "scheduled (default) or draft (never processed)", enum=WAVE_STATUSES),
                FieldSpec("waveName", "Name of the wave", required=True, type="string"),
                FieldSpec(
                    "listNames", "Lists to send to (a list, or separated by commas)", required=True, type="array"
                ),
                _WHEN,
                _BODY,
                _MEDIA,
            ),
            description="scheduleWave; an unknown outcome is looked up among the newest waves",
            creates=True,
            validate_extra=validate_schedule_wave,
            normalize=_strip("type", "status", "primaryPhone", "waveName", "scheduledTime"),
            reconcile=reconcile_schedule_wave,
            id_path="id",
            send_batch=_sender(SCHEDULE_WAVE_MUTATION, "scheduleWave", _schedule_wave_variables, wave_record),
            request_builder=lambda r: _request(SCHEDULE_WAVE_MUTATION, _schedule_wave_variables(r)),
        ),
        ActionSpec(
            name="register_webhook",
            title="Register a webhook URL",
            method="POST",
            path="",
            fields=(
                FieldSpec("url", "Public http(s) URL; it must answer Volt's test request with 2xx", required=True),
            ),
            description="registerWebhook; an unknown outcome is looked up by URL in webhooks",
            creates=True,
            validate_extra=validate_register,
            normalize=_strip("url"),
            reconcile=reconcile_register,
            id_path="id",
            send_batch=_sender(REGISTER_MUTATION, "registerWebhook", lambda r: {"url": r.get("url")}, _webhook),
            request_builder=lambda r: _request(REGISTER_MUTATION, {"url": r.get("url")}),
        ),
        ActionSpec(
            name="delete_webhook",
            title="Delete a webhook",
            method="POST",
            path="",
            fields=(FieldSpec("id", "The webhook's id (registerWebhook's answer)", required=True, type="string"),),
            description="deleteWebhook; an unknown outcome is done once the id is gone from webhooks",
            creates=True,  # not resent blindly: a second delete would be refused ("not found")
            validate_extra=validate_delete,
            normalize=_strip("id"),
            reconcile=reconcile_delete,
            id_path="id",
            send_batch=_sender(DELETE_MUTATION, "deleteWebhook", lambda r: {"id": str(r.get("id"))}, _webhook),
            request_builder=lambda r: _request(DELETE_MUTATION, {"id": str(r.get("id"))}),
        ),
    ]
