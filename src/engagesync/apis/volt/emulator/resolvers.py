"""Query and Mutation resolvers for Volt, and its error shapes.

Errors look like a Go gqlgen server's (docs/fidelity.md): a resolver error is ``{"message", "path"}``
with ``"data": null`` when the root field is non-null; parse and validation errors answer 422 with
``extensions.code`` ``GRAPHQL_PARSE_FAILED`` / ``GRAPHQL_VALIDATION_FAILED`` and double-quoted names;
a missing or null variable is ``must be defined`` / ``cannot be null`` at path ``["variable", name]``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLResolveInfo

from ....sandbox.graphql import ResolverError
from .. import contract
from .model import TenantModel

if TYPE_CHECKING:
    from . import VoltApi


def _tenant(info: GraphQLResolveInfo) -> TenantModel:
    api: VoltApi = info.context["api"]
    return TenantModel(api, int(info.context["tenant_id"]))


def _check(*problems: str | None) -> None:
    found = [p for p in problems if p]
    if found:
        raise ResolverError("; ".join(found))


def _rules(rules: list[contract.Rule] | tuple[contract.Rule | None, ...]) -> list[str]:
    """The messages of the contract's rules (the connector rejects records with the same ones)."""
    return [message for rule in rules if rule for _, message in [rule]]


# -- Query ---------------------------------------------------------------------------------------
def resolve_contact(_: Any, info: GraphQLResolveInfo, primaryPhone: str, phoneNumber: str) -> dict[str, Any] | None:
    t = _tenant(info)
    _check(contract.e164_problem("phoneNumber", phoneNumber))
    account = t.account_by_number(primaryPhone, "primaryPhone")
    row = t.contact_by_phone(account["id"], phoneNumber)
    return None if row is None else t.contact(row)


def _page_cursor(before: str | None) -> int | None:
    if before is None or before == "":
        return None
    try:
        return contract.decode_cursor(before)
    except ValueError as exc:
        raise ResolverError(f"before: {exc}") from None


def resolve_conversation(
    _: Any, info: GraphQLResolveInfo, to: str, before: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    t = _tenant(info)
    _check(contract.e164_problem("to", to))
    account = t.account_by_number(kwargs["from"], "from")
    key = _page_cursor(before)
    size = contract.CONVERSATION_PAGE_SIZE
    where = "tenant_id = ? AND account_id = ? AND peer = ?"
    args: tuple[Any, ...] = (t.t, account["id"], to)
    total = int(t.store.scalar(f"SELECT COUNT(*) FROM vt_messages WHERE {where}", args))
    if key is not None:
        where, args = where + " AND seq < ?", (*args, key)
    rows = t.store.all(f"SELECT * FROM vt_messages WHERE {where} ORDER BY seq DESC LIMIT ?", (*args, size + 1))
    more = len(rows) > size
    rows = rows[:size]
    next_page = contract.encode_cursor(rows[-1]["sent_at"], rows[-1]["seq"]) if more else None
    return {
        "messages": [t.message(r) for r in rows],
        "pageInfo": {"totalItems": total, "nextPage": next_page, "hasNextPage": more},
    }


def resolve_inbox(_: Any, info: GraphQLResolveInfo, before: str | None = None, **kwargs: Any) -> dict[str, Any]:
    t = _tenant(info)
    account = t.account_by_number(kwargs["from"], "from")
    key = _page_cursor(before)
    size = contract.INBOX_PAGE_SIZE
    total = int(
        t.store.scalar(
            "SELECT COUNT(DISTINCT peer) FROM vt_messages WHERE tenant_id = ? AND account_id = ?", (t.t, account["id"])
        )
    )
    having = "" if key is None else "HAVING last < ?"
    args: tuple[Any, ...] = (t.t, account["id"]) + (() if key is None else (key,))
    groups = t.store.all(
        f"SELECT peer, MAX(seq) AS last FROM vt_messages WHERE tenant_id = ? AND account_id = ? "
        f"GROUP BY peer {having} ORDER BY last DESC LIMIT ?",
        (*args, size + 1),
    )
    more = len(groups) > size
    groups = groups[:size]
    items = []
    last_row: sqlite3.Row | None = None
    for g in groups:
        last_row = t.store.one("SELECT * FROM vt_messages WHERE tenant_id = ? AND seq = ?", (t.t, g["last"]))
        assert last_row is not None
        contact = t.contact_row(last_row["contact_id"])
        items.append(
            {
                "contact": None if contact is None else t.contact(contact),
                "lastMessage": last_row["body"],
                "isUnread": last_row["direction"] == "inbound",
                "lastMessageTime": contract.rfc3339(last_row["sent_at"]),
            }
        )
    next_page = contract.encode_cursor(last_row["sent_at"], last_row["seq"]) if more and last_row else None
    return {
        "account": t.account(account["id"]),
        "items": items,
        "pageInfo": {"totalItems": total, "nextPage": next_page, "hasNextPage": more},
    }


def resolve_message(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    t = _tenant(info)
    row = t.message_row("id", str(id))
    return None if row is None else t.message(row)


def resolve_legacy_message(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    t = _tenant(info)
    row = t.message_row("legacy_id", str(id).lower())
    return None if row is None else t.message(row)


def resolve_list(_: Any, info: GraphQLResolveInfo, primaryPhone: str, listName: str) -> dict[str, Any]:
    t = _tenant(info)
    account = t.account_by_number(primaryPhone, "primaryPhone")
    row = t.list_row(account["id"], listName)
    if row is None:
        raise ResolverError(f'no list named "{listName}" on the account of {primaryPhone}')
    return t.list_dict(row)


def _int_id(value: Any) -> int | None:
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


def resolve_wave(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    t = _tenant(info)
    key = _int_id(id)
    return None if key is None else t.wave_by_id(key)


def resolve_webhooks(_: Any, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    t = _tenant(info)
    return [t.webhook(r) for r in t.store.all("SELECT * FROM vt_webhooks WHERE tenant_id = ? ORDER BY id", (t.t,))]


# -- Mutation ------------------------------------------------------------------------------------
def resolve_create_message(
    _: Any, info: GraphQLResolveInfo, to: str, body: str, media: list[str] | None = None, **kwargs: Any
) -> dict[str, Any]:
    t = _tenant(info)
    media = list(media or [])
    _check(contract.e164_problem("to", to), *_rules(contract.body_problems(body, media)))
    account = t.account_by_number(kwargs["from"], "from")
    contact = t.contact_by_phone(account["id"], to)
    if contact is not None and contact["blocked"]:
        raise ResolverError(f"to: contact {to} is blocked")
    row = t.send(account, to, body, media, contact=contact)
    t.api.process_due()  # zero delays apply at once
    fresh = t.message_row("id", row["id"])
    assert fresh is not None
    return t.message(fresh)


def resolve_create_or_update_contact(
    _: Any,
    info: GraphQLResolveInfo,
    name: str,
    phoneNumber: str,
    accountPhone: str,
    customFields: list[dict[str, Any] | None],
    blocked: bool,
) -> dict[str, Any]:
    t = _tenant(info)
    fields = [(str(f["key"]).strip(), str(f["value"])) for f in customFields if f is not None]
    _check(
        contract.e164_problem("phoneNumber", phoneNumber),
        None if name.strip() else "name must not be blank",
        *["customFields: key must not be blank" for k, _v in fields if not k][:1],
    )
    account = t.account_by_number(accountPhone, "accountPhone")
    return t.contact(t.upsert_contact(account, phoneNumber, name.strip(), fields, blocked))


def resolve_create_or_update_list(
    _: Any, info: GraphQLResolveInfo, primaryPhone: str, listQuery: dict[str, Any]
) -> dict[str, Any]:
    t = _tenant(info)
    _check(*_rules(contract.list_query_problems(listQuery))[:1])
    account = t.account_by_number(primaryPhone, "primaryPhone")
    return t.list_dict(t.upsert_list(account, listQuery))


def _scheduled(value: str) -> float:
    try:
        return contract.parse_scheduled_time(value)
    except ValueError as exc:
        raise ResolverError(str(exc)) from None


def resolve_schedule_message(
    _: Any, info: GraphQLResolveInfo, primaryPhone: str, message: dict[str, Any]
) -> dict[str, Any]:
    t = _tenant(info)
    numbers, media, body = list(message["contactNumbers"]), list(message.get("media") or []), message["messageBody"]
    _check(*_rules(contract.schedule_message_problems(numbers, body, media, message["scheduledTime"])))
    at = _scheduled(message["scheduledTime"])
    account = t.account_by_number(primaryPhone, "primaryPhone")
    with t.store.tx():
        row = t.new_wave(
            account_id=account["id"],
            name="Scheduled message",
            kind="contact",
            status="scheduled",
            scheduled_at=at,
            body=body,
            media=media,
            lists=None,
            numbers=list(dict.fromkeys(numbers)),
        )
    t.api.process_due()
    return t.wave(row)


def resolve_schedule_wave(
    _: Any, info: GraphQLResolveInfo, type: str, status: str, wave: dict[str, Any], primaryPhone: str | None = None
) -> dict[str, Any]:
    t = _tenant(info)
    media = [m for m in (wave.get("media") or []) if m is not None]
    name, body = str(wave["waveName"]).strip(), wave["messageBody"]
    _check(
        *_rules(
            contract.schedule_wave_problems(
                type, primaryPhone, name, body, media, wave["listNames"], wave["scheduledTime"]
            )
        )
    )
    at = _scheduled(wave["scheduledTime"])
    if type == "account":
        assert primaryPhone is not None  # a contract rule
        accounts = [t.account_by_number(primaryPhone, "primaryPhone")]
    else:
        accounts = (
            [t.account_by_number(primaryPhone, "primaryPhone")]
            if primaryPhone
            else t.store.all("SELECT * FROM vt_accounts WHERE tenant_id = ? ORDER BY id", (t.t,))
        )
    list_ids: list[int] = []
    for list_name in dict.fromkeys(wave["listNames"]):
        found = [row for row in (t.list_row(a["id"], list_name) for a in accounts) if row is not None]
        if not found:
            raise ResolverError(
                f'listNames: no list named "{list_name}"'
                + (" on this account" if type == "account" else " in this organization")
            )
        list_ids.extend(int(r["id"]) for r in found)
    with t.store.tx():
        row = t.new_wave(
            account_id=accounts[0]["id"] if type == "account" else None,
            name=name,
            kind=type,
            status=status,
            scheduled_at=at,
            body=body,
            media=media,
            lists=list_ids,
            numbers=None,
        )
    t.api.process_due()
    return t.wave(row)


async def resolve_register_webhook(_: Any, info: GraphQLResolveInfo, url: str) -> dict[str, Any]:
    t = _tenant(info)
    _check(*_rules((contract.webhook_url_problem(url),)))
    return t.webhook(await t.api.register_webhook(t, url))


def resolve_delete_webhook(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    t = _tenant(info)
    _check(*_rules((contract.webhook_id_problem(id),)))
    key = _int_id(id)
    row = None if key is None else t.store.one("SELECT * FROM vt_webhooks WHERE tenant_id = ? AND id = ?", (t.t, key))
    if row is None:
        raise ResolverError(f"webhook {id} not found")
    out = t.webhook(row)
    t.store.execute("DELETE FROM vt_webhooks WHERE tenant_id = ? AND id = ?", (t.t, key))
    return out


RESOLVERS: dict[str, dict[str, Callable[..., Any]]] = {
    "Query": {
        "contact": resolve_contact,
        "conversation": resolve_conversation,
        "inbox": resolve_inbox,
        "legacyMessage": resolve_legacy_message,
        "list": resolve_list,
        "message": resolve_message,
        "wave": resolve_wave,
        "webhooks": resolve_webhooks,
    },
    "Mutation": {
        "createMessage": resolve_create_message,
        "createOrUpdateContact": resolve_create_or_update_contact,
        "createOrUpdateList": resolve_create_or_update_list,
        "deleteWebhook": resolve_delete_webhook,
        "registerWebhook": resolve_register_webhook,
        "scheduleMessage": resolve_schedule_message,
        "scheduleWave": resolve_schedule_wave,
    },
}


# -- request errors, as gqlgen answers them ----------------------------------------------------------
# graphql-core 3.2 and 3.3 word these differently; both are recognised.
_NOT_PROVIDED = re.compile(
    r"Variable '\$(\w+)' (?:of required type '.+' was not provided|has invalid value: "
    r"Expected a value of non-null type '.+' to be provided)\."
)
_NULL = re.compile(
    r"Variable '\$(\w+)' (?:of non-null type '.+' must not be null|has invalid value: "
    r"Expected value of non-null type '.+' not to be None)\."
)
_INVALID = re.compile(r"Variable '\$(\w+)' (?:got|has) invalid value:? (.*)")
_MISSING_ARG = re.compile(r"Argument '(\w+)\.(\w+)\((\w+):\)' of type '(.+)' is required, but it was not provided\.")


def _double_quoted(message: str) -> str:
    """graphql-core quotes names with '...'; gqlparser (gqlgen) with "...", and names a missing argument
    ``Field "contact" argument "phoneNumber" of type "String!" is required, but it was not provided.``"""
    match = _MISSING_ARG.fullmatch(message)
    if match:
        _, field, arg, kind = match.groups()
        return f'Field "{field}" argument "{arg}" of type "{kind}" is required, but it was not provided.'
    return re.sub(r"'([^'\s]*)'", r'"\1"', message)


def _gqlgen_error(kind: str, error: GraphQLError) -> dict[str, Any]:
    code = "GRAPHQL_PARSE_FAILED" if kind == "parse" else "GRAPHQL_VALIDATION_FAILED"
    out: dict[str, Any] = {"message": _double_quoted(error.message)}
    if kind == "variables":
        for pattern, message in ((_NOT_PROVIDED, "must be defined"), (_NULL, "cannot be null")):
            match = pattern.fullmatch(error.message)
            if match:
                out = {"message": message, "path": ["variable", match.group(1)]}
                break
        else:
            match = _INVALID.match(error.message)
            if match:
                out = {"message": _double_quoted(match.group(2)), "path": ["variable", match.group(1)]}
    elif error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    out["extensions"] = {"code": code}
    return out


def request_errors(kind: str, errors: list[GraphQLError]) -> tuple[int, dict[str, Any]]:
    """gqlgen answers errors found before execution with 422 and ``"data": null``."""
    return 422, {"errors": [_gqlgen_error(kind, e) for e in errors], "data": None}
