"""GrowthGenius destination actions: contacts and messages, plus an upsert of contacts by email.

Records go through ``ActionSpec.prepare`` (drop empty values, CSV text to declared types),
``validate`` (the contract's rules, the emulator's wording) and ``build`` (bodies wrapped as the docs
show: ``{"contact": {...}}``). GrowthGenius never deduplicates a create, so creates carry a
``reconcile`` used by the push ledger when an outcome is unknown:

- contact: Search Contacts by the email; a contact with exactly that email whose every sent field
  has the sent value, created at or after ``since`` (less 30 s of clock slack) when given; the latest
  such wins. Without ``since`` (a crashed earlier run), an identical older contact is taken as ours.
- message: the messages updated since ``since`` (``from``/``to`` windows; all of them when ``since``
  is unknown) with the same contact, type, copy and subject; the latest wins.

``upsert_contact`` resolves before sending: Search Contacts by email, then PATCH the oldest exact
match, or POST a new contact when there is none. Its reconcile is the contact one, so an update
whose outcome is unknown is sent again unless the contact already holds the sent values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ....client.actions import ActionSpec, FieldSpec, Problem, Request
from ....client.http import ApiClient
from ....client.windows import TimeWindows
from ..contract import (
    CONTACT_FIELDS,
    MESSAGE_FIELDS,
    WINDOW_LIMIT,
    check_contact,
    check_message,
    parse_time,
    to_number,
)
from .client import GrowthGenius, server_now_ms, updated_tick

Record = dict[str, Any]

#: FieldSpec types: integers are coerced from CSV text; the rest are checked by the contract's rules.
_SPEC_TYPE = {"integer": "integer", "string": "string"}
_DESCRIPTIONS = {
    "email": "Email address (required on create; GrowthGenius never deduplicates by it)",
    "contact_account": "Account object {id, status}",
    "contact_account_id": "Account id",
    "user_id": "Owner: a user of the team (default: the connection's user)",
    "email_confidence": "0-100",
    "lists": "Any JSON",
    "label_names": "Any JSON",
    "unstructured_data": "Any JSON",
}


def _field(name: str, kind: str, required: bool = False) -> FieldSpec:
    return FieldSpec(
        name=name,
        description=_DESCRIPTIONS.get(name, name.replace("_", " ").capitalize()),
        required=required,
        type=_SPEC_TYPE.get(kind, "any"),
    )


ID = FieldSpec("id", "Contact id (URL path)", required=True, type="integer", path=True)
MESSAGE_ID = FieldSpec("id", "Message id (URL path)", required=True, type="integer", path=True)
CONTACT_SPECS = tuple(_field(n, k, n == "email") for n, k in CONTACT_FIELDS.items())
CONTACT_UPDATE_SPECS = tuple(_field(n, k) for n, k in CONTACT_FIELDS.items())
MESSAGE_SPECS = tuple(_field(n, k, n in ("contact_id", "message_type")) for n, k in MESSAGE_FIELDS.items())
MESSAGE_UPDATE_SPECS = tuple(_field(n, k) for n, k in MESSAGE_FIELDS.items())


def _rules(check: Callable[[Record, bool], list[Problem]], creating: bool) -> Callable[[Record], list[Problem]]:
    def validate(record: Record) -> list[Problem]:
        return check({k: v for k, v in record.items() if k != "id"}, creating)

    return validate


# -- matching --------------------------------------------------------------------------------------
def _same(sent: Any, held: Any, kind: str) -> bool:
    if sent is None:
        return held is None
    if kind == "email":
        return str(sent).strip().lower() == str(held or "").strip().lower()
    if kind in ("integer", "number"):
        return to_number(sent) == to_number(held) if held is not None else False
    if kind == "datetime":  # the API keeps milliseconds
        sent_ms, held_ms = parse_time(sent), parse_time(held)
        return sent_ms is not None and held_ms is not None and abs(sent_ms - held_ms) < 1
    if kind == "account":
        return (
            isinstance(held, dict) and isinstance(sent, dict) and to_number(sent.get("id")) == to_number(held.get("id"))
        )
    if isinstance(sent, str) or isinstance(held, str):
        return str(sent).strip() == str(held if held is not None else "").strip()
    return bool(sent == held)


def holds(resource: Record, record: Record, fields: dict[str, str]) -> bool:
    """Whether ``resource`` (as the API returns it) carries every value ``record`` sends."""
    return all(_same(value, resource.get(name), fields[name]) for name, value in record.items() if name in fields)


#: How far before ``since`` a match may have been created: ``since`` comes from our clock when the push
#: starts before any server ``Date`` was seen, and a clock ahead of the server must not hide our own create.
SINCE_SLACK_SECONDS = 30.0


def _created_since(resource: Record, since: float | None) -> bool:
    if since is None:
        return True
    created = parse_time(resource.get("created_at"))
    return created is not None and created >= (since - SINCE_SLACK_SECONDS) * 1000


# -- reconcilers and resolvers ---------------------------------------------------------------------
def reconcile_contact(client: ApiClient, record: Record, since: float | None = None) -> Record | None:
    email = record.get("email")
    if not isinstance(email, str) or not email.strip():
        return None
    fields = {k: v for k, v in record.items() if k != "id"}
    matches = [
        c
        for c in GrowthGenius(client).find_by_email(email)
        if holds(c, fields, CONTACT_FIELDS) and _created_since(c, since)
    ]
    return {"contact": matches[-1]} if matches else None


def reconcile_upsert(client: ApiClient, record: Record, since: float | None = None) -> Record | None:
    """The upserted contact: any exact-email match holding the sent values (its age does not matter)."""
    return reconcile_contact(client, record, None)


def resolve_upsert(client: ApiClient, record: Record) -> Request:
    fields = {k: v for k, v in record.items() if k != "id"}
    matches = GrowthGenius(client).find_by_email(str(record["email"]))
    if matches:
        return Request("PATCH", f"contacts/{int(matches[0]['id'])}", {"contact": fields})
    return Request("POST", "contacts", {"contact": fields})


def reconcile_message(client: ApiClient, record: Record, since: float | None = None) -> Record | None:
    if record.get("contact_id") is None:
        return None
    fields = {k: v for k, v in record.items() if k in MESSAGE_FIELDS}
    start = int((since - 2.0) * 1000) if since is not None else 0
    api = GrowthGenius(client)
    pager = TimeWindows(lambda a, b: api.list_messages(a, b), WINDOW_LIMIT, tick=updated_tick)
    best: Record | None = None
    for page in pager.pages({"since": start}, lambda: server_now_ms(client) + 1000):
        for message in page.records:
            if (
                holds(message, fields, MESSAGE_FIELDS)
                and _created_since(message, since)
                and (best is None or int(message["id"]) > int(best["id"]))
            ):
                best = message
    return {"message": best} if best else None


def _numbers(record: Record) -> Record:
    """CSV text to numbers where the contract wants one (``annual_revenue``)."""
    out = dict(record)
    for name, kind in CONTACT_FIELDS.items():
        if kind == "number" and isinstance(out.get(name), str) and to_number(out[name]) is not None:
            out[name] = to_number(out[name])
    if isinstance(out.get("email"), str):
        out["email"] = out["email"].strip()
    return out


def actions() -> dict[str, ActionSpec]:
    """Every GrowthGenius action by name."""
    out = [
        ActionSpec(
            "create_contact",
            "Create a Contact",
            "POST",
            "contacts",
            CONTACT_SPECS,
            "Creates a contact. GrowthGenius never deduplicates: the same row twice is two contacts "
            "(use upsert_contact to match on email).",
            creates=True,
            envelope="contact",
            validate_extra=_rules(check_contact, True),
            normalize=_numbers,
            reconcile=reconcile_contact,
            id_path="contact.id",
        ),
        ActionSpec(
            "upsert_contact",
            "Upsert a Contact by email",
            "POST",
            "contacts",
            CONTACT_SPECS,
            "Updates the contact with this email (the oldest, if several) or creates it.",
            creates=True,
            envelope="contact",
            validate_extra=_rules(check_contact, True),
            normalize=_numbers,
            reconcile=reconcile_upsert,
            resolve=resolve_upsert,
            id_path="contact.id",
        ),
        ActionSpec(
            "update_contact",
            "Update a Contact",
            "PATCH",
            "contacts/{id}",
            (ID, *CONTACT_UPDATE_SPECS),
            "Changes the given fields of a contact.",
            envelope="contact",
            validate_extra=_rules(check_contact, False),
            normalize=_numbers,
            id_path="contact.id",
        ),
        ActionSpec(
            "delete_contact",
            "Delete a Contact",
            "DELETE",
            "contacts/{id}",
            (ID,),
            "Deletes a contact.",
            id_path="contact.id",
        ),
        ActionSpec(
            "create_message",
            "Create a Message",
            "POST",
            "messages",
            MESSAGE_SPECS,
            "Records a message between a user and a contact (never deduplicated).",
            creates=True,
            envelope="message",
            validate_extra=_rules(check_message, True),
            reconcile=reconcile_message,
            id_path="message.id",
        ),
        ActionSpec(
            "update_message",
            "Update a Message",
            "PATCH",
            "messages/{id}",
            (MESSAGE_ID, *MESSAGE_UPDATE_SPECS),
            "Changes the given fields of a message.",
            envelope="message",
            validate_extra=_rules(check_message, False),
            id_path="message.id",
        ),
        ActionSpec(
            "delete_message",
            "Delete a Message",
            "DELETE",
            "messages/{id}",
            (MESSAGE_ID,),
            "Deletes a message.",
            id_path="message.id",
        ),
    ]
    return {a.name: a for a in out}


__all__ = ["actions", "reconcile_contact", "reconcile_message", "resolve_upsert"]
