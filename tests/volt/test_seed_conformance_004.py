"""Seed 004, example by example: every query and mutation the document shows, with its selection set,
run in-process and over loopback; the answer has exactly the documented fields, of the documented kinds.

The document's examples select ``...AccountFragment`` and the like without defining them; the fragments
below select every field the document lists for each type. Where an example's variables are
placeholders ("abc123", ``ID``, ``ListQuery``) or point at a number the document itself uses for
something else, seeded values stand in, and the test says so.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .conftest import PRIMARY, WILE, Volt

FRAGMENTS = {
    "AccountFragment": "fragment AccountFragment on Account { id organization { id } createdBy name primaryPhone "
    "createdAt lastUpdatedAt callForwardingNumber location }",
    "OrganizationFragment": "fragment OrganizationFragment on Organization { id companyName domain size industry "
    "createdAt lastUpdatedAt isOnFreeTrial isActive }",
    "ContactCustomFieldFragment": "fragment ContactCustomFieldFragment on ContactCustomField { key type value }",
    "ListFragment": "fragment ListFragment on List { id createdBy name createdAt lastUpdatedAt account { id } size "
    "querySourceListName queryNameSearchTerm queryCustomFields { field operator queryValue } }",
    "ListQueryRuleFragment": "fragment ListQueryRuleFragment on ListQueryRule { field operator queryValue }",
    "WaveFragment": "fragment WaveFragment on Wave { id scheduledTime name account { id } organization { id } body "
    "media sentBy lists { id } totalMessages totalMessagesDelivered totalMessagesFailed type }",
    "ContactFragment": "fragment ContactFragment on Contact { id account { id } organization { id } phoneNumber name "
    "mappedNumber customFields { key type value } createdAt lastUpdatedAt lists { id } blocked }",
    "MessageFragment": "fragment MessageFragment on Message { id legacyId account { id } organization { id } toNumber "
    "fromNumber status statusDescription media body sentAt confirmedAt wave { id } contact { id } }",
    "PageInfoFragment": "fragment PageInfoFragment on PageInfo { totalItems nextPage hasNextPage }",
    "InboxMessageFragment": "fragment InboxMessageFragment on InboxMessage { contact { id } lastMessage isUnread "
    "lastMessageTime }",
}

# -- the document's examples (queries verbatim; responses as documented, type placeholders kept) ----------
MESSAGE_FIELDS = """    id
    legacyId
    account {
      ...AccountFragment
    }
    organization {
      ...OrganizationFragment
    }
    toNumber
    fromNumber
    status
    statusDescription
    media
    body
    sentAt
    confirmedAt
    wave {
      ...WaveFragment
    }
    contact {
      ...ContactFragment
    }"""
CONTACT_FIELDS = """    id
    account {
      ...AccountFragment
    }
    organization {
      ...OrganizationFragment
    }
    phoneNumber
    name
    mappedNumber
    customFields {
      ...ContactCustomFieldFragment
    }
    createdAt
    lastUpdatedAt
    lists {
      ...ListFragment
    }
    blocked"""
LIST_FIELDS = """    id
    createdBy
    name
    createdAt
    lastUpdatedAt
    account {
      ...AccountFragment
    }
    size
    querySourceListName
    queryNameSearchTerm
    queryCustomFields {
      ...ListQueryRuleFragment
    }"""
WAVE_FIELDS = """    id
    scheduledTime
    name
    account {
      ...AccountFragment
    }
    organization {
      ...OrganizationFragment
    }
    body
    media
    sentBy
    lists {
      ...ListFragment
    }
    totalMessages
    totalMessagesDelivered
    totalMessagesFailed
    type"""
WEBHOOK_FIELDS = """    id
    organization {
      ...OrganizationFragment
    }
    url
    createdAt
    lastUpdatedAt"""

TS = "2021-03-29T20:00:35.344134Z"
MESSAGE_DOC = {
    "id": "rf_1234abcd",
    "legacyId": "40317653-15ed-444e-b232-98933f63adf8",
    "account": "Account",
    "organization": "Organization",
    "toNumber": "+15555556893",
    "fromNumber": "+15555556894",
    "status": "received",
    "statusDescription": "Incoming message received",
    "media": ["https://example.com/image.png"],
    "body": "Well, back to the old drawing board.",
    "sentAt": TS,
    "confirmedAt": TS,
    "wave": "Wave",
    "contact": "Contact",
}
CONTACT_DOC = {
    "id": 1234,
    "account": "Account",
    "organization": "Organization",
    "phoneNumber": "+15555556893",
    "name": "Wile E. Coyote",
    "mappedNumber": "+15555551234",
    "customFields": ["ContactCustomField"],
    "createdAt": TS,
    "lastUpdatedAt": TS,
    "lists": ["List"],
    "blocked": True,
}
LIST_DOC = {
    "id": 12345,
    "createdBy": "your.user@example.com",
    "name": "Loyal Customers",
    "createdAt": TS,
    "lastUpdatedAt": TS,
    "account": "Account",
    "size": 542,
    "querySourceListName": "All",
    "queryNameSearchTerm": None,
    "queryCustomFields": ["ListQueryRule"],
}
WAVE_DOC = {
    "id": 12345,
    "scheduledTime": "xyz789",
    "name": "Memorial Day Brick Sale",
    "account": "Account",
    "organization": "Organization",
    "body": "Hi {contact.first_name}, we're having a great sale on bricks this weekend.",
    "media": ["https://example.com/image.png"],
    "sentBy": "your.user@example.com",
    "lists": ["List"],
    "totalMessages": 100,
    "totalMessagesDelivered": 98,
    "totalMessagesFailed": 2,
    "type": "account",
}
WEBHOOK_DOC = {
    "id": 1234,
    "organization": "Organization",
    "url": "https://example.com/webhook",
    "createdAt": TS,
    "lastUpdatedAt": TS,
}
# the Types section
ACCOUNT_DOC = {
    "id": 1234567,
    "organization": "Organization",
    "createdBy": "your.user@example.com",
    "name": "Tulsa Store",
    "primaryPhone": "+15555554321",
    "createdAt": TS,
    "lastUpdatedAt": TS,
    "callForwardingNumber": "+15555551234",
    "location": "Tulsa, Oklahoma",
}
ORGANIZATION_DOC = {
    "id": 1234567,
    "companyName": "Acme Corporation",
    "domain": "example.com",
    "size": "11-50",
    "industry": "Retail",
    "createdAt": TS,
    "lastUpdatedAt": TS,
    "isOnFreeTrial": False,
    "isActive": True,
}
PAGE_INFO_DOC = {"totalItems": 123, "nextPage": "xyz789", "hasNextPage": True}
INBOX_MESSAGE_DOC = {"contact": "Contact", "lastMessage": "xyz789", "isUnread": False, "lastMessageTime": "abc123"}
CUSTOM_FIELD_DOC = {"key": "species", "type": "string", "value": "Canis latrans"}

#: The document writes nested objects as their type's name ("account": Account).
TYPES = {
    "Account",
    "Organization",
    "Contact",
    "ContactCustomField",
    "List",
    "ListQueryRule",
    "Message",
    "Wave",
    "PageInfo",
    "InboxMessage",
}
#: Fields the document types without "!" (a value or null).
NULLABLE = {
    "mappedNumber",
    "callForwardingNumber",
    "location",
    "domain",
    "size",
    "industry",
    "nextPage",
    "querySourceListName",
    "queryNameSearchTerm",
    "queryCustomFields",
    "lists",
}
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


def conforms(doc: dict[str, Any], got: Any, where: str = "") -> None:
    """``got`` has exactly the documented fields, each of the documented kind."""
    assert isinstance(got, dict), f"{where}: {got!r}"
    assert set(got) == set(doc), f"{where}: fields {sorted(got)} != documented {sorted(doc)}"
    for key, example in doc.items():
        value, at = got[key], f"{where}.{key}"
        if value is None and key in NULLABLE and not (where.startswith("contact") and key == "lists"):
            continue
        if key == "id":
            assert isinstance(value, str) and value, at  # the ID scalar appears in JSON as a String
        elif isinstance(example, str) and example in TYPES:
            assert value is None or isinstance(value, dict), at
        elif isinstance(example, list):
            assert isinstance(value, list), at
            assert all(isinstance(v, dict if example[0] in TYPES else str) for v in value), at
        elif isinstance(example, bool):
            assert isinstance(value, bool), at
        elif isinstance(example, int):
            assert isinstance(value, int) and not isinstance(value, bool), at
        elif example == TS:
            assert isinstance(value, str) and _TIMESTAMP.fullmatch(value), f"{at}: {value!r}"
        elif example is None:
            assert value is None or isinstance(value, str), at
        else:
            assert isinstance(value, str), at


def with_fragments(query: str) -> str:
    used: list[str] = []
    for name in re.findall(r"\.\.\.(\w+Fragment)", query):
        if name not in used:
            used.append(name)
    return query + "\n" + "\n".join(FRAGMENTS[name] for name in used)


def run(volt: Volt, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    return volt.data(with_fragments(query), variables)


def sink_url(volt: Volt, name: str) -> str:
    return f"{str(volt.http.base_url).rstrip('/')}/_sandbox/sink/{name}"


def register(volt: Volt, url: str) -> dict[str, Any]:
    return dict(
        volt.data("mutation r($url: String!) { registerWebhook(url: $url) { id url } }", {"url": url})[
            "registerWebhook"
        ]
    )


# -- queries ---------------------------------------------------------------------------------------------
CONTACT_QUERY = f"""query contact($primaryPhone: String!, $phoneNumber: String!) {{
  contact(primaryPhone: $primaryPhone, phoneNumber: $phoneNumber) {{
{CONTACT_FIELDS}
  }}
}}"""


def test_contact(volt_any: Volt) -> None:
    # the document's variables are placeholders ("abc123"): the seeded account number and contact stand in
    contact = run(volt_any, CONTACT_QUERY, {"primaryPhone": PRIMARY, "phoneNumber": WILE})["contact"]
    conforms(CONTACT_DOC, contact, "contact")
    assert (contact["id"], contact["name"], contact["phoneNumber"], contact["mappedNumber"]) == (
        "1234",
        "Wile E. Coyote",
        "+15555556893",
        "+15555551234",
    )
    conforms(ACCOUNT_DOC, contact["account"], "contact.account")
    assert {
        k: contact["account"][k]
        for k in ("id", "name", "primaryPhone", "createdBy", "callForwardingNumber", "location")
    } == {
        k: str(v) if k == "id" else v
        for k, v in ACCOUNT_DOC.items()
        if k in ("id", "name", "primaryPhone", "createdBy", "callForwardingNumber", "location")
    }
    conforms(ORGANIZATION_DOC, contact["organization"], "contact.organization")
    assert {k: v for k, v in contact["organization"].items() if not k.endswith("At")} == {
        k: str(v) if k == "id" else v for k, v in ORGANIZATION_DOC.items() if not k.endswith("At")
    }
    assert {"key": "species", "type": "string", "value": "Canis latrans"} in contact["customFields"]
    for field in contact["customFields"]:
        conforms(CUSTOM_FIELD_DOC, field, "contact.customFields")
    for lst in contact["lists"]:
        conforms(LIST_DOC, lst, "contact.lists")


def test_contact_with_the_documented_placeholder_variables_is_an_e164_error(volt_any: Volt) -> None:
    error = volt_any.error(with_fragments(CONTACT_QUERY), {"primaryPhone": "abc123", "phoneNumber": "abc123"})
    assert error["path"] == ["contact"]
    assert "E.164" in error["message"]


CONVERSATION_QUERY = """query conversation($to: String!, $from: String!, $before: String) {
  conversation(to: $to, from: $from, before: $before) {
    messages {
      ...MessageFragment
    }
    pageInfo {
      ...PageInfoFragment
    }
  }
}"""


def test_conversation(volt_any: Volt) -> None:
    # documented: to +15555551234 from +15555554321 (that "to" is one of the account's own pool numbers, so
    # the conversation is empty); the seeded contact's conversation is read too, following the cursor
    empty = run(volt_any, CONVERSATION_QUERY, {"to": "+15555551234", "from": "+15555554321"})["conversation"]
    assert empty == {"messages": [], "pageInfo": {"totalItems": 0, "nextPage": None, "hasNextPage": False}}
    page = run(volt_any, CONVERSATION_QUERY, {"to": WILE, "from": "+15555554321"})["conversation"]
    conforms({"messages": ["Message"], "pageInfo": "PageInfo"}, page, "conversation")
    conforms(PAGE_INFO_DOC, page["pageInfo"], "conversation.pageInfo")
    for message in page["messages"]:
        conforms(MESSAGE_DOC, message, "conversation.messages")
        assert WILE in (message["toNumber"], message["fromNumber"])
    assert page["pageInfo"]["hasNextPage"] and page["pageInfo"]["totalItems"] > len(page["messages"])
    before = page["pageInfo"]["nextPage"]
    older = run(volt_any, CONVERSATION_QUERY, {"to": WILE, "from": PRIMARY, "before": before})["conversation"]
    assert older["messages"] and older["messages"][0]["sentAt"] <= page["messages"][-1]["sentAt"]
    assert not {m["id"] for m in older["messages"]} & {m["id"] for m in page["messages"]}


INBOX_QUERY = """query inbox($from: String!, $before: String) {
  inbox(from: $from, before: $before) {
    account {
      ...AccountFragment
    }
    items {
      ...InboxMessageFragment
    }
    pageInfo {
      ...PageInfoFragment
    }
  }
}"""


def test_inbox(volt_any: Volt) -> None:
    inbox = run(volt_any, INBOX_QUERY, {"from": "+15555554321"})["inbox"]
    conforms({"account": "Account", "items": ["InboxMessage"], "pageInfo": "PageInfo"}, inbox, "inbox")
    conforms(ACCOUNT_DOC, inbox["account"], "inbox.account")
    assert inbox["account"]["primaryPhone"] == PRIMARY
    assert inbox["items"]
    for item in inbox["items"]:
        conforms(INBOX_MESSAGE_DOC, item, "inbox.items")
        assert _TIMESTAMP.fullmatch(item["lastMessageTime"])
    times = [i["lastMessageTime"] for i in inbox["items"]]
    assert times == sorted(times, reverse=True)
    conforms(PAGE_INFO_DOC, inbox["pageInfo"], "inbox.pageInfo")


MESSAGE_QUERY = f"""query message($id: ID!) {{
  message(id: $id) {{
{MESSAGE_FIELDS}
  }}
}}"""
LEGACY_QUERY = f"""query legacyMessage($id: ID!) {{
  legacyMessage(id: $id) {{
{MESSAGE_FIELDS}
  }}
}}"""


def test_message_and_legacy_message(volt_any: Volt, creds: dict[str, Any]) -> None:
    # the document's variables are {"id": ID}: a seeded message's ids stand in
    samples = creds["samples"]
    by_id = run(volt_any, MESSAGE_QUERY, {"id": samples["message_ids"][0]})["message"]
    conforms(MESSAGE_DOC, by_id, "message")
    assert re.fullmatch(r"rf_[0-9a-f]{8}", by_id["id"])
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", by_id["legacyId"])
    assert by_id["status"] in ("delivered", "failed", "received")
    by_legacy = run(volt_any, LEGACY_QUERY, {"id": samples["legacy_message_ids"][0]})["legacyMessage"]
    assert by_legacy == by_id
    assert run(volt_any, MESSAGE_QUERY, {"id": "rf_00000000"})["message"] is None


LIST_QUERY = f"""query list($primaryPhone: String!, $listName: String!) {{
  list(primaryPhone: $primaryPhone, listName: $listName) {{
{LIST_FIELDS}
  }}
}}"""


def test_list(volt_any: Volt) -> None:
    lst = run(volt_any, LIST_QUERY, {"primaryPhone": "+15555554321", "listName": "Loyal Customers"})["list"]
    conforms(LIST_DOC, lst, "list")
    assert (lst["id"], lst["name"], lst["createdBy"], lst["querySourceListName"]) == (
        "12345",
        "Loyal Customers",
        "your.user@example.com",
        "All",
    )
    assert lst["queryCustomFields"] == [{"field": "purchases", "operator": "gte", "queryValue": "3"}]
    assert lst["size"] > 0


WAVE_QUERY = f"""query wave($id: ID!) {{
  wave(id: $id) {{
{WAVE_FIELDS}
  }}
}}"""


def test_wave(volt_any: Volt) -> None:
    wave = run(volt_any, WAVE_QUERY, {"id": "12345"})["wave"]
    conforms(WAVE_DOC, wave, "wave")
    assert {k: wave[k] for k in ("id", "name", "body", "media", "sentBy", "type")} == {
        "id": "12345",
        "name": WAVE_DOC["name"],
        "body": WAVE_DOC["body"],
        "media": WAVE_DOC["media"],
        "sentBy": WAVE_DOC["sentBy"],
        "type": "account",
    }
    assert wave["totalMessages"] == wave["totalMessagesDelivered"] + wave["totalMessagesFailed"]
    assert [lst["name"] for lst in wave["lists"]] == ["Loyal Customers"]


WEBHOOKS_QUERY = f"""query webhooks {{
  webhooks {{
{WEBHOOK_FIELDS}
  }}
}}"""


def test_webhooks(volt_any: Volt) -> None:
    assert run(volt_any, WEBHOOKS_QUERY, {})["webhooks"] == []
    register(volt_any, sink_url(volt_any, "hooks"))  # example.com stands in for the sandbox's own sink
    hooks = run(volt_any, WEBHOOKS_QUERY, {})["webhooks"]
    assert len(hooks) == 1
    conforms(WEBHOOK_DOC, hooks[0], "webhooks")
    assert hooks[0]["id"] == "1234" and hooks[0]["url"] == sink_url(volt_any, "hooks")
    conforms(ORGANIZATION_DOC, hooks[0]["organization"], "webhooks.organization")


# -- mutations -------------------------------------------------------------------------------------------
CREATE_MESSAGE = f"""mutation createMessage($to: String!, $from: String!, $body: String!, $media: [String!]) {{
  createMessage(to: $to, from: $from, body: $body, media: $media) {{
{MESSAGE_FIELDS}
  }}
}}"""


def test_create_message(volt_any: Volt) -> None:
    variables = {
        "to": "+15555556893",
        "from": "+15555556894",
        "body": "Thanks for coming in!",
        "media": ["https://example.com/thanks.png"],
    }
    message = run(volt_any, CREATE_MESSAGE, variables)["createMessage"]
    conforms(MESSAGE_DOC, message, "createMessage")
    assert (message["toNumber"], message["body"], message["media"], message["status"]) == (
        "+15555556893",
        "Thanks for coming in!",
        ["https://example.com/thanks.png"],
        "sending",
    )
    assert message["fromNumber"] == "+15555551234"  # the contact's mapped pool number ("mapped appropriately")
    assert message["contact"]["name"] == "Wile E. Coyote" and message["wave"] is None


CREATE_CONTACT = f"""mutation createOrUpdateContact($name: String!, $phoneNumber: String!, $accountPhone: String!, \
$customFields: [ContactCustomFieldInput]!, $blocked: Boolean!) {{
  createOrUpdateContact(name: $name, phoneNumber: $phoneNumber, accountPhone: $accountPhone, \
customFields: $customFields, blocked: $blocked) {{
{CONTACT_FIELDS}
  }}
}}"""


def test_create_or_update_contact(volt_any: Volt) -> None:
    # documented variables, with a ContactCustomFieldInput for the placeholder; the accountPhone is a pool number
    variables = {
        "name": "Wile E. Coyote",
        "phoneNumber": "+15555554321",
        "accountPhone": "+15555551234",
        "customFields": [{"key": "species", "value": "Canis latrans"}],
        "blocked": False,
    }
    contact = run(volt_any, CREATE_CONTACT, variables)["createOrUpdateContact"]
    conforms(CONTACT_DOC, contact, "createOrUpdateContact")
    assert (contact["name"], contact["phoneNumber"], contact["blocked"]) == ("Wile E. Coyote", "+15555554321", False)
    assert contact["customFields"] == [CUSTOM_FIELD_DOC]
    assert contact["mappedNumber"] in ("+15555551234", "+15555556894")
    assert contact["account"]["name"] == "Tulsa Store"


CREATE_LIST = f"""mutation createOrUpdateList($primaryPhone: String!, $listQuery: ListQuery!) {{
  createOrUpdateList(primaryPhone: $primaryPhone, listQuery: $listQuery) {{
{LIST_FIELDS}
  }}
}}"""


def test_create_or_update_list(volt_any: Volt) -> None:
    # the document's primaryPhone (+15555556893) is its own contact's number: the account's stands in
    query = {
        "listName": "Loyal Customers",
        "querySourceListName": "All",
        "queryCustomFields": [{"field": "purchases", "operator": "gte", "queryValue": "3"}],
    }
    lst = run(volt_any, CREATE_LIST, {"primaryPhone": PRIMARY, "listQuery": query})["createOrUpdateList"]
    conforms(LIST_DOC, lst, "createOrUpdateList")
    assert (lst["id"], lst["name"], lst["querySourceListName"]) == ("12345", "Loyal Customers", "All")


DELETE_WEBHOOK = f"""mutation deleteWebhook($id: ID!) {{
  deleteWebhook(id: $id) {{
{WEBHOOK_FIELDS}
  }}
}}"""
REGISTER_WEBHOOK = f"""mutation registerWebhook($url: String!) {{
  registerWebhook(url: $url) {{
{WEBHOOK_FIELDS}
  }}
}}"""


def test_register_and_delete_webhook(volt_any: Volt) -> None:
    url = sink_url(volt_any, "example")  # stands in for https://example.com/webhook (no outside network)
    hook = run(volt_any, REGISTER_WEBHOOK, {"url": url})["registerWebhook"]
    conforms(WEBHOOK_DOC, hook, "registerWebhook")
    assert hook["url"] == url
    deleted = run(volt_any, DELETE_WEBHOOK, {"id": hook["id"]})["deleteWebhook"]
    conforms(WEBHOOK_DOC, deleted, "deleteWebhook")
    assert deleted["id"] == hook["id"]
    assert volt_any.data("{ webhooks { id } }")["webhooks"] == []


SCHEDULE_MESSAGE = f"""mutation scheduleMessage($primaryPhone: String!, $message: MessageSchedulingJob!) {{
  scheduleMessage(primaryPhone: $primaryPhone, message: $message) {{
{WAVE_FIELDS}
  }}
}}"""
SCHEDULE_WAVE = f"""mutation scheduleWave($type: WaveType!, $primaryPhone: String, $status: NewWaveStatus!, \
$wave: WaveSchedulingJob!) {{
  scheduleWave(type: $type, primaryPhone: $primaryPhone, status: $status, wave: $wave) {{
{WAVE_FIELDS}
  }}
}}"""


def test_schedule_message(volt_any: Volt) -> None:
    job = {
        "scheduledTime": "2099-05-25 15:00:00",
        "messageBody": "Your bricks are in!",
        "contactNumbers": [WILE],
        "media": ["https://example.com/image.png"],
    }
    wave = run(volt_any, SCHEDULE_MESSAGE, {"primaryPhone": "+15555554321", "message": job})["scheduleMessage"]
    conforms(WAVE_DOC, wave, "scheduleMessage")
    assert (wave["type"], wave["scheduledTime"], wave["body"], wave["totalMessages"], wave["lists"]) == (
        "contact",
        "2099-05-25T15:00:00Z",
        "Your bricks are in!",
        0,
        None,
    )


def test_schedule_wave(volt_any: Volt) -> None:
    job = {
        "waveName": "Memorial Day Brick Sale",
        "scheduledTime": "2099-05-25 15:00:00",
        "messageBody": "Hi {contact.first_name}, we're having a great sale on bricks this weekend.",
        "listNames": ["Loyal Customers"],
        "media": ["https://example.com/image.png"],
    }
    wave = run(
        volt_any, SCHEDULE_WAVE, {"type": "account", "primaryPhone": "+15555554321", "status": "scheduled", "wave": job}
    )["scheduleWave"]
    conforms(WAVE_DOC, wave, "scheduleWave")
    assert (wave["name"], wave["type"], wave["sentBy"]) == (
        "Memorial Day Brick Sale",
        "account",
        "your.user@example.com",
    )
    assert [lst["name"] for lst in wave["lists"]] == ["Loyal Customers"]


@pytest.mark.parametrize(
    "operation",
    [
        "contact",
        "conversation",
        "inbox",
        "legacyMessage",
        "list",
        "message",
        "wave",
        "webhooks",
        "createMessage",
        "createOrUpdateContact",
        "createOrUpdateList",
        "deleteWebhook",
        "registerWebhook",
        "scheduleMessage",
        "scheduleWave",
    ],
)
def test_every_documented_operation_is_in_the_served_schema(volt: Volt, operation: str) -> None:
    fields = volt.data("{ __schema { queryType { fields { name } } mutationType { fields { name } } } }")["__schema"]
    names = {f["name"] for root in ("queryType", "mutationType") for f in fields[root]["fields"]}
    assert operation in names
