"""Volt source streams: conversations (the inbox), their contacts, every conversation's messages, webhooks,
and the lists and waves the connection names.

The schema lists little: ``inbox(from, before)`` pages the account's conversations (one item per peer,
newest first, with the peer's contact), ``conversation(to, from, before)`` pages one peer's messages
(newest first) and ``webhooks`` is a plain list. Contacts and lists can only be fetched one by one
(by phone number, by name), so ``contacts`` are the contacts of the inbox's conversations: a contact
that never exchanged a message is not listable.

Both pagers take Volt's base64 ``before`` cursor (``pageInfo{nextPage, hasNextPage}``), followed with
``follow_cursor``; the cursor is the page state the pull engine commits with each page, so a killed
pull resumes at the page it stopped at. ``messages`` walks the peers in phone-number order and keeps
``{"to", "before"}``: it resumes inside the conversation, and page, it stopped at.

``lists`` and ``waves`` have no listing query (``list(primaryPhone, listName)`` and ``wave(id)`` fetch one
each), so they are read by the names and ids in the connection settings ``list_names`` and ``wave_ids``
(``a,b,c``, or ``@file`` with one per line), as Groove sales reads people by Salesforce id. A named
list or wave that no longer exists is skipped (``list`` is non-null, so it is one request per name).

Every stream needs the account's primary number (connection setting ``primary_phone``). Both lists are
newest first: a conversation that gets a message while the inbox is being paged moves to its top and
may be missed by that pull (the next pull reads it), and a message sent during a pull is after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ....client.errors import GraphQLRequestError
from ....client.http import ApiClient
from ....client.paginate import follow_cursor
from ....client.streams import Page, Stream, StreamSpec
from ....timefmt import parse_datetime
from ..contract import UNCONFIRMED
from .client import gql

V, B, TS, BOOL, J = "VARCHAR", "BIGINT", "TIMESTAMPTZ", "BOOLEAN", "JSON"
Json = dict[str, Any]

CONTACT_FIELDS = (
    "id phoneNumber name mappedNumber blocked createdAt lastUpdatedAt customFields { key type value } lists { id name }"
)
MESSAGE_FIELDS = (
    "id legacyId toNumber fromNumber status statusDescription media body sentAt confirmedAt "
    "wave { id } contact { id phoneNumber }"
)
PAGE_INFO = "pageInfo { totalItems nextPage hasNextPage }"

INBOX_QUERY = (
    f"query Inbox($from: String!, $before: String) {{ inbox(from: $from, before: $before) {{ "
    f"items {{ contact {{ {CONTACT_FIELDS} }} lastMessage isUnread lastMessageTime }} {PAGE_INFO} }} }}"
)
CONVERSATION_QUERY = (
    f"query Conversation($to: String!, $from: String!, $before: String) {{ "
    f"conversation(to: $to, from: $from, before: $before) {{ messages {{ {MESSAGE_FIELDS} }} "
    f"{PAGE_INFO} }} }}"
)
WEBHOOKS_QUERY = "query Webhooks { webhooks { id url createdAt lastUpdatedAt } }"
LIST_FIELDS = (
    "id name createdBy createdAt lastUpdatedAt size querySourceListName queryNameSearchTerm "
    "queryCustomFields { field operator queryValue }"
)
WAVE_FIELDS = (
    "id name type scheduledTime body media sentBy lists { id name } totalMessages totalMessagesDelivered "
    "totalMessagesFailed"
)
LIST_QUERY = (
    f"query List($primaryPhone: String!, $listName: String!) {{ "
    f"list(primaryPhone: $primaryPhone, listName: $listName) {{ {LIST_FIELDS} }} }}"
)
WAVE_QUERY = f"query Wave($id: ID!) {{ wave(id: $id) {{ {WAVE_FIELDS} }} }}"
#: Waves read per request (``wave`` is nullable, so aliases are safe: a missing id is a null, not an error).
WAVES_PER_REQUEST = 25

CONVERSATION_COLUMNS = {
    "phoneNumber": V,
    "contactId": V,
    "contactName": V,
    "lastMessage": V,
    "isUnread": BOOL,
    "lastMessageTime": TS,
}
CONTACT_COLUMNS = {
    "id": V,
    "phoneNumber": V,
    "name": V,
    "mappedNumber": V,
    "blocked": BOOL,
    "createdAt": TS,
    "lastUpdatedAt": TS,
    "customFields": "STRUCT(key VARCHAR, type VARCHAR, value VARCHAR)[]",
    "lists": "STRUCT(id VARCHAR, name VARCHAR)[]",
}
MESSAGE_COLUMNS = {
    "id": V,
    "legacyId": V,
    "peer": V,
    "toNumber": V,
    "fromNumber": V,
    "status": V,
    "statusDescription": V,
    "media": "VARCHAR[]",
    "body": V,
    "sentAt": TS,
    "confirmedAt": TS,
    "waveId": V,
    "contactId": V,
}
WEBHOOK_COLUMNS = {"id": V, "url": V, "createdAt": TS, "lastUpdatedAt": TS}
LIST_COLUMNS = {
    "id": V,
    "name": V,
    "createdBy": V,
    "createdAt": TS,
    "lastUpdatedAt": TS,
    "size": B,
    "querySourceListName": V,
    "queryNameSearchTerm": V,
    "queryCustomFields": J,
}
WAVE_COLUMNS = {
    "id": V,
    "name": V,
    "type": V,
    "scheduledTime": TS,
    "body": V,
    "media": J,
    "sentBy": V,
    "lists": J,
    "totalMessages": B,
    "totalMessagesDelivered": B,
    "totalMessagesFailed": B,
}


#: What each column means (``COMMENT ON COLUMN``, ``streams NAME --columns``), from the schema's field
#: descriptions; columns the connector adds say so.
CONVERSATION_DOCS = {
    "phoneNumber": "The contact's receiving phone number (the peer of the conversation)",
    "contactId": "Id of the contact",
    "contactName": "Name of the contact",
    "lastMessage": "Last message content for the contact",
    "isUnread": "If the message is unread",
    "lastMessageTime": "Timestamp of the last message (UTC)",
}
CONTACT_DOCS = {
    "id": "Id of the contact",
    "phoneNumber": "Contact's receiving phone number",
    "name": "Name of the contact",
    "mappedNumber": "Number the contact is mapped to if number pooling is enabled",
    "blocked": "If the contact is blocked (receivals not processed)",
    "createdAt": "Contact creation date (UTC)",
    "lastUpdatedAt": "Time the contact was last updated (UTC)",
    "customFields": "Custom field values on the contact: key (field name), type and value",
    "lists": "Lists to which this contact is a member: id and name",
}
MESSAGE_DOCS = {
    "id": "Volt assigned message ID (rf_*)",
    "legacyId": "Provider assigned message ID (uuid)",
    "peer": "Number of the conversation (the contact's) the message was read from (added by the connector)",
    "toNumber": "Number to which the message was sent",
    "fromNumber": "Number from which the message originated",
    "status": "Message status (failed, sending, sent, or delivered; received when incoming)",
    "statusDescription": "Detailed description associated with message status",
    "media": "Media (URLs) sent with the message",
    "body": "Message body",
    "sentAt": "Time the message was sent to provider (UTC)",
    "confirmedAt": "Time message status was confirmed by provider (UTC); null until confirmed",
    "waveId": "Id of the wave from which the message originated, if any",
    "contactId": "Id of the contact on the receiving end of the message",
}
WEBHOOK_DOCS = {
    "id": "Webhook ID",
    "url": "Webhook destination URL (Volt POSTs message status updates to it)",
    "createdAt": "Webhook creation date (UTC)",
    "lastUpdatedAt": "Time the webhook was last updated (UTC)",
}
LIST_DOCS = {
    "id": "ID of the list",
    "name": "Name of the list",
    "createdBy": "Email of the user who created the list",
    "createdAt": "List creation date (UTC)",
    "lastUpdatedAt": "Time the list was last updated (UTC)",
    "size": "Number of contacts on this list",
    "querySourceListName": "The name of the list used as the basis for filtering (defaults to the All list)",
    "queryNameSearchTerm": "Filters list contacts by name",
    "queryCustomFields": "Rules filtering list contacts: field, operator and queryValue (JSON)",
}
WAVE_DOCS = {
    "id": "ID of the wave",
    "name": "Name of the wave",
    "type": "Wave type (one of contact, account, or group)",
    "scheduledTime": "Time the wave is scheduled to begin processing (UTC)",
    "body": "Message body",
    "media": "Associated media (JSON)",
    "sentBy": "Sending user",
    "lists": "Lists included in the wave (JSON)",
    "totalMessages": "Total message in the wave",
    "totalMessagesDelivered": "Total messages delivered",
    "totalMessagesFailed": "Total messages failed",
}


def _need(primary_phone: str | None) -> str:
    if not primary_phone:
        raise ValueError(
            "Volt streams need the account's primary number: set the connection's primary_phone "
            "(e.g. --setting primary_phone=+15555554321)"
        )
    return primary_phone


def contact_record(contact: Json) -> Json:
    """A contact as stored: custom fields as ``[{key, type, value}]``, lists as ``[{id, name}]``."""
    return {
        "id": str(contact["id"]),
        "phoneNumber": contact["phoneNumber"],
        "name": contact["name"],
        "mappedNumber": contact.get("mappedNumber"),
        "blocked": contact["blocked"],
        "createdAt": contact["createdAt"],
        "lastUpdatedAt": contact["lastUpdatedAt"],
        "customFields": contact.get("customFields") or [],
        "lists": contact.get("lists") or [],
    }


def conversation_record(item: Json) -> Json | None:
    contact = item.get("contact")
    if not isinstance(contact, dict):  # a peer without a contact cannot be named; never seen in practice
        return None
    return {
        "phoneNumber": contact["phoneNumber"],
        "contactId": str(contact["id"]),
        "contactName": contact["name"],
        "lastMessage": item["lastMessage"],
        "isUnread": item["isUnread"],
        "lastMessageTime": item["lastMessageTime"],
    }


def message_record(message: Json, peer: str) -> Json:
    """A message as stored; the zero ``confirmedAt`` of an unconfirmed message becomes null."""
    wave, contact = message.get("wave"), message.get("contact")
    return {
        "id": str(message["id"]),
        "legacyId": message["legacyId"],
        "peer": peer,
        "toNumber": message["toNumber"],
        "fromNumber": message["fromNumber"],
        "status": message["status"],
        "statusDescription": message["statusDescription"],
        "media": message.get("media") or [],
        "body": message["body"],
        "sentAt": message["sentAt"],
        "confirmedAt": None if message["confirmedAt"] == UNCONFIRMED else message["confirmedAt"],
        "waveId": str(wave["id"]) if isinstance(wave, dict) else None,
        "contactId": str(contact["id"]) if isinstance(contact, dict) else None,
    }


def _next(page_info: Json | None) -> str | None:
    info = page_info or {}
    cursor = info.get("nextPage")
    return cursor if info.get("hasNextPage") and isinstance(cursor, str) and cursor else None


def inbox_fetch(client: ApiClient, primary_phone: str) -> Callable[[str | None], tuple[list[Json], str | None]]:
    """``fetch(before)`` for ``follow_cursor``: one inbox page's items and the next ``before`` cursor."""
    runner = gql(client)

    def fetch(before: str | None) -> tuple[list[Json], str | None]:
        inbox = runner.query(INBOX_QUERY, {"from": primary_phone, "before": before})["inbox"] or {}
        return list(inbox.get("items") or []), _next(inbox.get("pageInfo"))

    return fetch


def conversation_fetch(
    client: ApiClient,
    primary_phone: str,
    to: str,
) -> Callable[[str | None], tuple[list[Json], str | None]]:
    """``fetch(before)`` for ``follow_cursor``: one page of a conversation's messages and the next cursor."""
    runner = gql(client)

    def fetch(before: str | None) -> tuple[list[Json], str | None]:
        data = runner.query(CONVERSATION_QUERY, {"to": to, "from": primary_phone, "before": before})
        conversation = data["conversation"] or {}
        return list(conversation.get("messages") or []), _next(conversation.get("pageInfo"))

    return fetch


def peers(client: ApiClient, primary_phone: str) -> tuple[list[str], int]:
    """Every conversation's peer number, sorted, and the requests the inbox walk took."""
    found: set[str] = set()
    requests = 0
    for items, _ in follow_cursor(inbox_fetch(client, primary_phone)):
        requests += 1
        found.update(r["phoneNumber"] for r in filter(None, map(conversation_record, items)))
    return sorted(found), requests


@dataclass
class InboxStream:
    """The inbox's items (conversations, or their contacts), page by page on the ``before`` cursor.

    The inbox is newest first (by ``lastMessageTime``): after a complete pass the next one stops at the
    first item older than the newest time the last pass saw (state ``{"stop_at": t}``); a conversation
    with a new message moves to the top, so it is read. Items at exactly ``t`` are read again (ties)."""

    spec: StreamSpec
    primary_phone: str | None
    record: Callable[[Json], Json | None]

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        state = state or {}
        start, stop_at, newest = state.get("before"), _instant(state.get("stop_at")), state.get("newest")
        for items, cursor in follow_cursor(inbox_fetch(client, _need(self.primary_phone)), start):
            times = [_instant(i.get("lastMessageTime")) for i in items]
            newest = max([newest, *(str(i.get("lastMessageTime")) for i in items)], key=_instant_key)
            fresh = [i for i, t in zip(items, times, strict=True) if stop_at is None or t is None or t >= stop_at]
            records = [r for r in (self.record(i) for i in fresh) if r is not None]
            if cursor and len(fresh) == len(items):
                yield Page(records, {"before": cursor, "newest": newest, "stop_at": state.get("stop_at")})
            else:  # the end of the inbox, or the items the last pass saw: stop
                yield Page(records, {"newest": newest} if newest else None)
                return

    def restart_state(self, last: dict[str, Any] | None) -> dict[str, Any] | None:
        """A pass after a complete one stops at the newest item that one saw."""
        return {"stop_at": last["newest"]} if last and last.get("newest") else None


def _instant(value: Any) -> datetime | None:
    try:
        return parse_datetime(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _instant_key(value: Any) -> datetime:
    return _instant(value) or datetime.min.replace(tzinfo=UTC)


def _contact_of(item: Json) -> Json | None:
    contact = item.get("contact")
    return contact_record(contact) if isinstance(contact, dict) else None


@dataclass
class MessagesStream:
    """Every conversation's messages: the inbox's peers in phone-number order, each one's pages."""

    spec: StreamSpec
    primary_phone: str | None

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        primary = _need(self.primary_phone)
        numbers, spent = peers(client, primary)
        start, before = 0, None
        if state and state.get("to"):
            resume = str(state["to"])
            # the peer we stopped in, or (if it is gone) the next one in order
            start = next((i for i, n in enumerate(numbers) if n >= resume), len(numbers))
            before = state.get("before") if start < len(numbers) and numbers[start] == resume else None
        if start >= len(numbers):
            yield Page([], None, requests=spent)
            return
        for i in range(start, len(numbers)):
            to = numbers[i]
            following = {"to": numbers[i + 1], "before": None} if i + 1 < len(numbers) else None
            for items, cursor in follow_cursor(conversation_fetch(client, primary, to), before if i == start else None):
                next_state = {"to": to, "before": cursor} if cursor else following
                yield Page([message_record(m, to) for m in items], next_state, requests=1 + spent)
                spent = 0


@dataclass
class WebhooksStream:
    """Every registered webhook: one request (``webhooks`` is a plain list), full refresh."""

    spec: StreamSpec

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        hooks = gql(client).query(WEBHOOKS_QUERY)["webhooks"] or []
        yield Page([{**h, "id": str(h["id"])} for h in hooks if isinstance(h, dict)], None)


def parse_names(value: str | list[str] | None) -> list[str]:
    """``"a,b"``, ``["a", "b"]`` or ``"@path"`` (one per line); blanks and duplicates dropped, order kept."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif value.startswith("@"):
        items = Path(value[1:]).expanduser().read_text().splitlines()
    else:
        items = value.split(",")
    return list(dict.fromkeys(i.strip() for i in items if i.strip()))


def list_record(lst: Json) -> Json:
    return {**lst, "id": str(lst["id"]), "queryCustomFields": lst.get("queryCustomFields") or []}


def wave_record(wave: Json) -> Json:
    return {**wave, "id": str(wave["id"]), "media": wave.get("media") or [], "lists": wave.get("lists") or []}


def waves_query(count: int) -> str:
    """``w0: wave(id: $i0) {...} w1: ...``: several waves in one request."""
    params = ", ".join(f"$i{i}: ID!" for i in range(count))
    fields = " ".join(f"w{i}: wave(id: $i{i}) {{ {WAVE_FIELDS} }}" for i in range(count))
    return f"query Waves({params}) {{ {fields} }}"


@dataclass
class ListsStream:
    """The lists named by the connection's ``list_names``: one ``list`` query each, full refresh."""

    spec: StreamSpec
    primary_phone: str | None
    names: list[str] = field(default_factory=list)

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        index = int((state or {}).get("index") or 0)
        if index >= len(self.names):
            yield Page([], None, requests=0)
            return
        primary, runner = _need(self.primary_phone), gql(client)
        for i in range(index, len(self.names)):
            try:
                found = [runner.query(LIST_QUERY, {"primaryPhone": primary, "listName": self.names[i]})["list"]]
            except GraphQLRequestError as exc:  # ``list`` is non-null: "no such list" is an error answer
                if not all(e.message.startswith("no list named") for e in exc.errors):
                    raise
                found = []
            following = {"index": i + 1} if i + 1 < len(self.names) else None
            yield Page([list_record(lst) for lst in found if isinstance(lst, dict)], following)


@dataclass
class WavesStream:
    """The waves named by the connection's ``wave_ids``, ``WAVES_PER_REQUEST`` per request (aliases)."""

    spec: StreamSpec
    ids: list[str] = field(default_factory=list)

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        index = int((state or {}).get("index") or 0)
        if index >= len(self.ids):
            yield Page([], None, requests=0)
            return
        runner = gql(client)
        while index < len(self.ids):
            chunk = self.ids[index : index + WAVES_PER_REQUEST]
            data = runner.query(waves_query(len(chunk)), {f"i{i}": w for i, w in enumerate(chunk)})
            index += len(chunk)
            records = [wave_record(w) for i in range(len(chunk)) if isinstance(w := data.get(f"w{i}"), dict)]
            yield Page(records, {"index": index} if index < len(self.ids) else None)


def streams(
    primary_phone: str | None = None,
    list_names: str | list[str] | None = None,
    wave_ids: str | list[str] | None = None,
) -> dict[str, Stream]:
    """Every Volt stream by name (parents before children)."""
    out: list[Stream] = [
        InboxStream(
            StreamSpec(
                "conversations",
                ("phoneNumber",),
                CONVERSATION_COLUMNS,
                "The inbox: one row per peer with its last message (before-cursor pages)",
                docs=CONVERSATION_DOCS,
            ),
            primary_phone,
            conversation_record,
        ),
        InboxStream(
            StreamSpec(
                "contacts",
                ("id",),
                CONTACT_COLUMNS,
                "Contacts of the inbox's conversations (the schema lists no other way)",
                docs=CONTACT_DOCS,
            ),
            primary_phone,
            _contact_of,
        ),
        MessagesStream(
            StreamSpec(
                "messages",
                ("id",),
                MESSAGE_COLUMNS,
                "Messages of every conversation (before-cursor pages, per peer)",
                parent="conversations",
                docs=MESSAGE_DOCS,
            ),
            primary_phone,
        ),
        WebhooksStream(
            StreamSpec("webhooks", ("id",), WEBHOOK_COLUMNS, "Registered webhooks, full refresh", docs=WEBHOOK_DOCS)
        ),
        ListsStream(
            StreamSpec(
                "lists", ("id",), LIST_COLUMNS, "Lists named by the connection's list_names setting", docs=LIST_DOCS
            ),
            primary_phone,
            parse_names(list_names),
        ),
        WavesStream(
            StreamSpec(
                "waves",
                ("id",),
                WAVE_COLUMNS,
                "Waves (with delivery totals) named by the wave_ids setting",
                docs=WAVE_DOCS,
            ),
            parse_names(wave_ids),
        ),
    ]
    return {s.spec.name: s for s in out}
