"""Volt's behaviour over the ``vt_*`` tables, for one tenant (organization) at a time.

Rows become dicts with the schema's field names; related objects are callables, which graphql-core's
default resolver calls only when the query selects them. Sending records a message, and the status
changes the carrier would report (sent, then delivered or failed) are scheduled on the virtual clock
(``vt_transitions``) and applied by ``schedule.process_due`` with their webhooks, as are scheduled
waves.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ....sandbox.graphql import ResolverError
from .. import contract
from ..contract import ALL_LIST, UNCONFIRMED, rfc3339
from .list_rules import infer_type, rule_matches, rule_value

if TYPE_CHECKING:
    from . import VoltApi

CONTACT_ID, ACCOUNT_ID, LIST_ID, WAVE_ID, WEBHOOK_ID = 1234, 1_234_567, 12_345, 12_345, 1234
ORG_ID = 1_234_566  # + tenant id: the default tenant is the document's organization 1234567


def message_id(tenant_id: int, seq: int) -> str:
    """``rf_`` and 8 hex digits: a bijection of the sequence number, so ids never collide."""
    mixed = (seq * 0x9E3779B1 + tenant_id * 0x85EBCA6B + 0x1234ABCD) % (1 << 32)
    return f"rf_{mixed:08x}"


def legacy_id(tenant_id: int, seq: int) -> str:
    """The provider's uuid (v4 layout), derived so the same seed gives the same ids."""
    digest = hashlib.sha256(f"volt:provider:{tenant_id}:{seq}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def render_template(body: str, contact: sqlite3.Row) -> str:
    """Wave bodies address each contact: ``{contact.first_name}``, ``last_name``, ``name``,
    ``phone_number`` and ``{contact.<custom field>}``; unknown placeholders stay as written."""
    first, _, last = contact["name"].partition(" ")
    values = {"first_name": first, "last_name": last, "name": contact["name"], "phone_number": contact["phone"]}
    values.update({f["key"]: f["value"] for f in json.loads(contact["custom"])})

    def sub(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return re.sub(r"\{contact\.([A-Za-z0-9_\-]+)\}", sub, body)


class TenantModel:
    """One organization's view of the Volt tables."""

    def __init__(self, api: VoltApi, tenant_id: int) -> None:
        self.api = api
        self.t = tenant_id
        self.store = api.ctx.store

    def now(self) -> float:
        return self.api.ctx.clock.now()

    # -- organization and accounts ---------------------------------------------------------------
    def org_row(self) -> sqlite3.Row:
        row = self.store.one("SELECT * FROM vt_orgs WHERE tenant_id = ?", (self.t,))
        assert row is not None, "every tenant is provisioned with an organization"
        return row

    def org(self, *_: Any) -> dict[str, Any]:
        r = self.org_row()
        return {
            "id": str(r["id"]),
            "companyName": r["company_name"],
            "domain": r["domain"],
            "size": r["size"],
            "industry": r["industry"],
            "createdAt": rfc3339(r["created_at"]),
            "lastUpdatedAt": rfc3339(r["updated_at"]),
            "isOnFreeTrial": bool(r["free_trial"]),
            "isActive": bool(r["active"]),
        }

    def user_email(self) -> str:
        return str(self.org_row()["user_email"])

    def account_row(self, account_id: int) -> sqlite3.Row:
        row = self.store.one("SELECT * FROM vt_accounts WHERE tenant_id = ? AND id = ?", (self.t, account_id))
        assert row is not None
        return row

    def account(self, account_id: int) -> dict[str, Any]:
        r = self.account_row(account_id)
        return {
            "id": str(r["id"]),
            "organization": self.org,
            "createdBy": r["created_by"],
            "name": r["name"],
            "primaryPhone": r["primary_phone"],
            "createdAt": rfc3339(r["created_at"]),
            "lastUpdatedAt": rfc3339(r["updated_at"]),
            "callForwardingNumber": r["call_forwarding"],
            "location": r["location"],
        }

    def account_by_number(self, number: str, arg: str) -> sqlite3.Row:
        """The account owning ``number`` (its primary number or one of its pool); an error naming ``arg``."""
        problem = contract.e164_problem(arg, number)
        if problem:
            raise ResolverError(problem)
        row = self.store.one(
            "SELECT a.* FROM vt_numbers n JOIN vt_accounts a ON a.tenant_id = n.tenant_id AND "
            "a.id = n.account_id WHERE n.tenant_id = ? AND n.number = ?",
            (self.t, number),
        )
        if row is None:
            raise ResolverError(f"{arg} {number} is not a phone number on this organization's Volt accounts")
        return row

    # -- custom fields and contacts --------------------------------------------------------------
    def field_types(self) -> dict[str, str]:
        return {
            r["key"]: r["type"]
            for r in self.store.all("SELECT key, type FROM vt_fields WHERE tenant_id = ?", (self.t,))
        }

    def contact_row(self, contact_id: int | None) -> sqlite3.Row | None:
        if contact_id is None:
            return None
        return self.store.one("SELECT * FROM vt_contacts WHERE tenant_id = ? AND id = ?", (self.t, contact_id))

    def contact_by_phone(self, account_id: int, phone: str) -> sqlite3.Row | None:
        return self.store.one(
            "SELECT * FROM vt_contacts WHERE tenant_id = ? AND account_id = ? AND phone = ?",
            (self.t, account_id, phone),
        )

    def contact(self, row: sqlite3.Row) -> dict[str, Any]:
        types = self.field_types()
        custom = [
            {"key": f["key"], "type": types.get(f["key"], "string"), "value": f["value"]}
            for f in json.loads(row["custom"])
        ]
        return {
            "id": str(row["id"]),
            "account": lambda *_: self.account(row["account_id"]),
            "organization": self.org,
            "phoneNumber": row["phone"],
            "name": row["name"],
            "mappedNumber": row["mapped_number"],
            "customFields": custom,
            "createdAt": rfc3339(row["created_at"]),
            "lastUpdatedAt": rfc3339(row["updated_at"]),
            "lists": lambda *_: [self.list_dict(r) for r in self.lists_of(row)],
            "blocked": bool(row["blocked"]),
        }

    def _mapped_number(self, account: sqlite3.Row, contact_id: int) -> str:
        """Pooled accounts spread contacts over their pool; others text from the primary number."""
        pool = json.loads(account["pool"])
        return str(pool[contact_id % len(pool)]) if pool else str(account["primary_phone"])

    def _define_fields(self, fields: Iterable[tuple[str, str]]) -> None:
        for key, value in fields:
            self.store.execute(
                "INSERT OR IGNORE INTO vt_fields (tenant_id, key, type) VALUES (?, ?, ?)",
                (self.t, key, infer_type(value)),
            )

    def new_contact(self, account: sqlite3.Row, phone: str, name: str | None = None) -> sqlite3.Row:
        contact_id = self.api.reserve(self.t, "contact", 1, CONTACT_ID)
        now = self.now()
        self.store.execute(
            "INSERT INTO vt_contacts (tenant_id, id, account_id, phone, name, mapped_number, custom, "
            "blocked, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '[]', 0, ?, ?)",
            (
                self.t,
                contact_id,
                account["id"],
                phone,
                name or phone,
                self._mapped_number(account, contact_id),
                now,
                now,
            ),
        )
        row = self.contact_row(contact_id)
        assert row is not None
        return row

    def upsert_contact(
        self, account: sqlite3.Row, phone: str, name: str, fields: list[tuple[str, str]], blocked: bool
    ) -> sqlite3.Row:
        """Create, or update name, blocked and the given custom fields (others are kept)."""
        with self.store.tx():
            self._define_fields(fields)
            row = self.contact_by_phone(account["id"], phone) or self.new_contact(account, phone, name)
            custom = {f["key"]: f["value"] for f in json.loads(row["custom"])}
            merged = {**custom, **dict(fields)}
            new_custom = json.dumps([{"key": k, "value": v} for k, v in merged.items()])
            if (row["name"], bool(row["blocked"]), row["custom"]) != (name, blocked, new_custom):
                self.store.execute(
                    "UPDATE vt_contacts SET name = ?, blocked = ?, custom = ?, updated_at = ? "
                    "WHERE tenant_id = ? AND id = ?",
                    (name, int(blocked), new_custom, self.now(), self.t, row["id"]),
                )
            fresh = self.contact_row(row["id"])
        assert fresh is not None
        return fresh

    # -- lists -----------------------------------------------------------------------------------
    def list_row(self, account_id: int, name: str) -> sqlite3.Row | None:
        return self.store.one(
            "SELECT * FROM vt_lists WHERE tenant_id = ? AND account_id = ? AND name = ?", (self.t, account_id, name)
        )

    def list_dict(self, row: sqlite3.Row) -> dict[str, Any]:
        rules = json.loads(row["rules"]) if row["rules"] else None
        return {
            "id": str(row["id"]),
            "createdBy": row["created_by"],
            "name": row["name"],
            "createdAt": rfc3339(row["created_at"]),
            "lastUpdatedAt": rfc3339(row["updated_at"]),
            "account": lambda *_: self.account(row["account_id"]),
            "size": lambda *_: len(self.members(row)),
            "querySourceListName": row["source_list"] or (None if row["name"] == ALL_LIST else ALL_LIST),
            "queryNameSearchTerm": row["name_term"],
            "queryCustomFields": rules,
        }

    def _matches(self, contact: sqlite3.Row, lst: sqlite3.Row, types: dict[str, str], depth: int = 0) -> bool:
        if lst["name"] == ALL_LIST:
            return True
        if depth > 10:  # a cycle of source lists matches nobody
            return False
        source = lst["source_list"]
        if source and source != ALL_LIST:
            base = self.list_row(lst["account_id"], source)
            if base is None or not self._matches(contact, base, types, depth + 1):
                return False
        term = lst["name_term"]
        if term and term.casefold() not in contact["name"].casefold():
            return False
        values = {f["key"]: f["value"] for f in json.loads(contact["custom"])}
        for rule in json.loads(lst["rules"] or "[]"):
            if not rule_matches(rule["operator"], values.get(rule["field"]), rule_value(rule["queryValue"])):
                return False
        return True

    def members(self, lst: sqlite3.Row) -> list[sqlite3.Row]:
        types = self.field_types()
        contacts = self.store.all(
            "SELECT * FROM vt_contacts WHERE tenant_id = ? AND account_id = ? ORDER BY id", (self.t, lst["account_id"])
        )
        return [c for c in contacts if self._matches(c, lst, types)]

    def lists_of(self, contact: sqlite3.Row) -> list[sqlite3.Row]:
        types = self.field_types()
        lists = self.store.all(
            "SELECT * FROM vt_lists WHERE tenant_id = ? AND account_id = ? ORDER BY id", (self.t, contact["account_id"])
        )
        return [lst for lst in lists if self._matches(contact, lst, types)]

    def upsert_list(self, account: sqlite3.Row, query: dict[str, Any]) -> sqlite3.Row:
        """Create or update the list named in ``query`` (already checked by ``contract.list_query_problems``)."""
        name = str(query["listName"]).strip()
        source = query.get("querySourceListName") or None
        if source and source != ALL_LIST and self.list_row(account["id"], source) is None:
            raise ResolverError(f'querySourceListName: no list named "{source}" on this account')
        types = self.field_types()
        rules = []
        for rule in query.get("queryCustomFields") or []:
            field, operator = rule["field"], rule["operator"]
            if field not in types:
                raise ResolverError(f'queryCustomFields: custom field "{field}" is not defined on the organization')
            kind = types[field]
            allowed = {
                "number": contract.NUMERIC_OPERATORS,
                "date": contract.DATE_OPERATORS,
                "string": contract.TEXT_OPERATORS,
            }.get(kind, contract.LIST_OPERATORS)
            if operator not in allowed:
                raise ResolverError(
                    f'queryCustomFields: operator "{operator}" is not valid for {kind} field '
                    f'"{field}" (use {", ".join(allowed)})'
                )
            rules.append({"field": field, "operator": operator, "queryValue": rule["queryValue"]})
        now = self.now()
        with self.store.tx():
            row = self.list_row(account["id"], name)
            values = (source, query.get("queryNameSearchTerm") or None, json.dumps(rules) if rules else None)
            if row is None:
                list_id = self.api.reserve(self.t, "list", 1, LIST_ID)
                self.store.execute(
                    "INSERT INTO vt_lists (tenant_id, id, account_id, name, created_by, source_list, "
                    "name_term, rules, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (self.t, list_id, account["id"], name, self.user_email(), *values, now, now),
                )
            elif (row["source_list"], row["name_term"], row["rules"]) != values:
                self.store.execute(
                    "UPDATE vt_lists SET source_list = ?, name_term = ?, rules = ?, updated_at = ? "
                    "WHERE tenant_id = ? AND id = ?",
                    (*values, now, self.t, row["id"]),
                )
            fresh = self.list_row(account["id"], name)
        assert fresh is not None
        return fresh

    # -- messages --------------------------------------------------------------------------------
    def message_row(self, column: str, value: str) -> sqlite3.Row | None:
        assert column in ("id", "legacy_id")
        return self.store.one(f"SELECT * FROM vt_messages WHERE tenant_id = ? AND {column} = ?", (self.t, value))

    def message(self, row: sqlite3.Row) -> dict[str, Any]:
        org_id = self.org_row()["id"]
        return {
            "id": row["id"],
            "legacyId": row["legacy_id"],
            "account": lambda *_: self.account(row["account_id"]),
            "organization": self.org,
            "toNumber": row["to_number"],
            "fromNumber": row["from_number"],
            "status": row["status"],
            "statusDescription": row["status_description"],
            "media": json.loads(row["media"]),
            "body": row["body"],
            "sentAt": rfc3339(row["sent_at"]),
            "confirmedAt": rfc3339(row["confirmed_at"]) if row["confirmed_at"] is not None else UNCONFIRMED,
            "wave": lambda *_: self.wave_by_id(row["wave_id"]),
            "contact": lambda *_: self._contact_or_none(row["contact_id"]),
            # for webhook payloads
            "accountId": str(row["account_id"]),
            "organizationId": str(org_id),
            "contactId": None if row["contact_id"] is None else str(row["contact_id"]),
            "waveId": None if row["wave_id"] is None else str(row["wave_id"]),
        }

    def _contact_or_none(self, contact_id: int | None) -> dict[str, Any] | None:
        row = self.contact_row(contact_id)
        return None if row is None else self.contact(row)

    def send(
        self,
        account: sqlite3.Row,
        to: str,
        body: str,
        media: list[str],
        wave_id: int | None = None,
        contact: sqlite3.Row | None = None,
    ) -> sqlite3.Row:
        """Hand a message to the carrier: recorded as ``sending``; sent and delivered/failed fall due later."""
        with self.store.tx():
            contact = contact or self.contact_by_phone(account["id"], to) or self.new_contact(account, to)
            seq = self.api.reserve(self.t, "message", 1)
            now = self.now()
            self.store.execute(
                "INSERT INTO vt_messages (tenant_id, seq, id, legacy_id, account_id, contact_id, peer, direction, "
                "to_number, from_number, status, status_description, media, body, sent_at, confirmed_at, wave_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'outbound', ?, ?, 'sending', ?, ?, ?, ?, NULL, ?)",
                (
                    self.t,
                    seq,
                    message_id(self.t, seq),
                    legacy_id(self.t, seq),
                    account["id"],
                    contact["id"],
                    to,
                    to,
                    contact["mapped_number"] or account["primary_phone"],
                    contract.STATUS_DESCRIPTIONS["sending"],
                    json.dumps(media),
                    body,
                    now,
                    wave_id,
                ),
            )
            settings = self.api.settings
            sent_at = now + settings.sent_after_seconds
            final_at = sent_at + settings.delivered_after_seconds
            failure = contract.FAILING_NUMBERS.get(to)
            final = ("failed", failure) if failure else ("delivered", contract.STATUS_DESCRIPTIONS["delivered"])
            self.store.executemany(
                "INSERT INTO vt_transitions (tenant_id, seq, status, description, due_at) VALUES (?, ?, ?, ?, ?)",
                [(self.t, seq, "sent", contract.STATUS_DESCRIPTIONS["sent"], sent_at), (self.t, seq, *final, final_at)],
            )
            row = self.store.one("SELECT * FROM vt_messages WHERE tenant_id = ? AND seq = ?", (self.t, seq))
        assert row is not None
        return row

    def receive(self, account: sqlite3.Row, sender: str, to: str, body: str, media: list[str]) -> sqlite3.Row | None:
        """An inbound message (simulated carrier); ``None`` when the sender is blocked (not processed)."""
        with self.store.tx():
            contact = self.contact_by_phone(account["id"], sender) or self.new_contact(account, sender)
            if contact["blocked"]:
                return None
            seq = self.api.reserve(self.t, "message", 1)
            now = self.now()
            self.store.execute(
                "INSERT INTO vt_messages (tenant_id, seq, id, legacy_id, account_id, contact_id, peer, direction, "
                "to_number, from_number, status, status_description, media, body, sent_at, confirmed_at, wave_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'inbound', ?, ?, 'received', ?, ?, ?, ?, ?, NULL)",
                (
                    self.t,
                    seq,
                    message_id(self.t, seq),
                    legacy_id(self.t, seq),
                    account["id"],
                    contact["id"],
                    sender,
                    to,
                    sender,
                    contract.STATUS_DESCRIPTIONS["received"],
                    json.dumps(media),
                    body,
                    now,
                    now,
                ),
            )
            row = self.store.one("SELECT * FROM vt_messages WHERE tenant_id = ? AND seq = ?", (self.t, seq))
            assert row is not None
            self.api.emit(self, contract.EVENT_RECEIVED, row)
        return row

    # -- waves -----------------------------------------------------------------------------------
    def wave_row(self, wave_id: int) -> sqlite3.Row | None:
        return self.store.one("SELECT * FROM vt_waves WHERE tenant_id = ? AND id = ?", (self.t, wave_id))

    def wave_by_id(self, wave_id: int | None) -> dict[str, Any] | None:
        row = None if wave_id is None else self.wave_row(wave_id)
        return None if row is None else self.wave(row)

    def wave(self, row: sqlite3.Row) -> dict[str, Any]:
        def totals(status: str | None) -> int:
            sql = "SELECT COUNT(*) FROM vt_messages WHERE tenant_id = ? AND wave_id = ?"
            args: tuple[Any, ...] = (self.t, row["id"])
            if status:
                sql, args = sql + " AND status = ?", (*args, status)
            return int(self.store.scalar(sql, args))

        def lists(*_: Any) -> list[dict[str, Any]] | None:
            if row["lists"] is None:
                return None
            ids = json.loads(row["lists"])
            rows = [self.store.one("SELECT * FROM vt_lists WHERE tenant_id = ? AND id = ?", (self.t, i)) for i in ids]
            return [self.list_dict(r) for r in rows if r is not None]

        return {
            "id": str(row["id"]),
            "scheduledTime": rfc3339(row["scheduled_at"]),
            "name": row["name"],
            "account": lambda *_: None if row["account_id"] is None else self.account(row["account_id"]),
            "organization": self.org,
            "body": row["body"],
            "media": json.loads(row["media"]),
            "sentBy": row["sent_by"],
            "lists": lists,
            "totalMessages": lambda *_: totals(None),
            "totalMessagesDelivered": lambda *_: totals("delivered"),
            "totalMessagesFailed": lambda *_: totals("failed"),
            "type": contract.WAVE_TYPE_RENDERED[row["type"]],
        }

    def new_wave(
        self,
        *,
        account_id: int | None,
        name: str,
        kind: str,
        status: str,
        scheduled_at: float,
        body: str,
        media: list[str],
        lists: list[int] | None,
        numbers: list[str] | None,
    ) -> sqlite3.Row:
        wave_id = self.api.reserve(self.t, "wave", 1, WAVE_ID)
        self.store.execute(
            "INSERT INTO vt_waves (tenant_id, id, account_id, name, type, status, scheduled_at, body, "
            "media, sent_by, lists, numbers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.t,
                wave_id,
                account_id,
                name,
                kind,
                status,
                scheduled_at,
                body,
                json.dumps(media),
                self.user_email(),
                None if lists is None else json.dumps(lists),
                None if numbers is None else json.dumps(numbers),
                self.now(),
            ),
        )
        row = self.wave_row(wave_id)
        assert row is not None
        return row

    def run_wave(self, wave: sqlite3.Row) -> None:
        """Send a due wave: to its numbers (a scheduled message) or to every unblocked member of its lists."""
        media = json.loads(wave["media"])
        if wave["numbers"] is not None:
            account = self.account_row(wave["account_id"])
            for number in json.loads(wave["numbers"]):
                contact = self.contact_by_phone(account["id"], number) or self.new_contact(account, number)
                if not contact["blocked"]:
                    self.send(account, number, render_template(wave["body"], contact), media, wave["id"], contact)
        else:
            seen: set[int] = set()
            for list_id in json.loads(wave["lists"] or "[]"):
                lst = self.store.one("SELECT * FROM vt_lists WHERE tenant_id = ? AND id = ?", (self.t, list_id))
                if lst is None:
                    continue
                account = self.account_row(lst["account_id"])
                for contact in self.members(lst):
                    if contact["id"] in seen or contact["blocked"]:
                        continue
                    seen.add(contact["id"])
                    self.send(
                        account, contact["phone"], render_template(wave["body"], contact), media, wave["id"], contact
                    )
        self.store.execute(
            "UPDATE vt_waves SET status = 'sent', processed_at = ? WHERE tenant_id = ? AND id = ?",
            (self.now(), self.t, wave["id"]),
        )

    # -- webhooks --------------------------------------------------------------------------------
    def webhook(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "id": str(row["id"]),
            "organization": self.org,
            "url": row["url"],
            "createdAt": rfc3339(row["created_at"]),
            "lastUpdatedAt": rfc3339(row["updated_at"]),
        }

    def webhook_urls(self) -> list[str]:
        return [
            r["url"] for r in self.store.all("SELECT url FROM vt_webhooks WHERE tenant_id = ? ORDER BY id", (self.t,))
        ]
