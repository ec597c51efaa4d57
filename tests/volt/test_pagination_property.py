"""``before`` cursor pagination, as properties: following ``pageInfo.nextPage`` from the newest page reads
every message of a conversation once, newest first, whatever its length; texts arriving during the
scan never shift a page boundary (they are newer than every cursor). The same holds for the inbox."""

from __future__ import annotations

import base64
import itertools

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagesync.apis.volt.contract import CONVERSATION_PAGE_SIZE, INBOX_PAGE_SIZE
from engagesync.sandbox.app import Sandbox
from engagesync.testing import make_sandbox

from .conftest import PRIMARY, Volt

CONVERSATION = (
    'query c($to: String!, $before: String) { conversation(to: $to, from: "+15555554321", '
    "before: $before) { messages { id sentAt } pageInfo { totalItems nextPage hasNextPage } } }"
)
_numbers = itertools.count(1)
FIXTURE_OK = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def fresh_number() -> str:
    """A number no other example has texted (examples share one sandbox)."""
    return f"+1555888{next(_numbers):04d}"


def inbound(admin: httpx.Client, sender: str, text: str) -> str:
    response = admin.post("volt/inbound", json={"from": sender, "to": PRIMARY, "body": text})
    assert response.status_code == 201, response.text
    return str(response.json()["message"]["id"])


def scan(volt: Volt, to: str, during: list[int], admin: httpx.Client) -> tuple[list[str], list[int]]:
    """Read the conversation page by page; after page i, ``during[i]`` new texts arrive."""
    seen: list[str] = []
    totals: list[int] = []
    before = None
    for page_no in itertools.count():
        page = volt.data(CONVERSATION, {"to": to, "before": before})["conversation"]
        info = page["pageInfo"]
        assert len(page["messages"]) <= CONVERSATION_PAGE_SIZE
        assert info["hasNextPage"] == (info["nextPage"] is not None)
        if info["hasNextPage"]:
            assert len(page["messages"]) == CONVERSATION_PAGE_SIZE
            text = base64.b64decode(info["nextPage"]).decode()  # standard base64, as documented
            assert text.startswith(page["messages"][-1]["sentAt"] + "|")
        seen += [m["id"] for m in page["messages"]]
        totals.append(info["totalItems"])
        for k in range(during[page_no] if page_no < len(during) else 0):
            inbound(admin, to, f"late {page_no}.{k}")
        if not info["hasNextPage"]:
            return seen, totals
        before = info["nextPage"]
    raise AssertionError("unreachable")


@FIXTURE_OK
@given(n=st.integers(0, 3 * CONVERSATION_PAGE_SIZE + 3), during=st.lists(st.integers(0, 3), max_size=4))
def test_the_before_cursor_reads_each_message_once_newest_first(sandbox: Sandbox, n: int, during: list[int]) -> None:
    creds = sandbox.credentials()["volt"]
    with sandbox.client() as http, sandbox.client() as admin:
        admin.base_url = httpx.URL("http://sandbox/_sandbox/")
        volt = Volt(http, creds["token"])
        to = fresh_number()
        sent = [inbound(admin, to, f"text {i}") for i in range(n)]
        seen, totals = scan(volt, to, during, admin)
    assert seen == list(reversed(sent))  # every message that existed when the scan began, once, newest first
    assert totals[0] == n
    assert totals == sorted(totals)  # totalItems counts the whole conversation as it grows


@FIXTURE_OK
@given(peers=st.integers(0, 2 * INBOX_PAGE_SIZE + 5))
def test_the_inbox_pages_through_every_conversation_once(peers: int) -> None:
    with (
        make_sandbox(counts={"volt.messages": 0, "volt.contacts": 1, "volt.waves": 0}) as sb,
        sb.client() as http,
        sb.client() as admin,
    ):
        for api in sb.ctx.apis:
            sb.ctx.set_rate_limit(api, None)
        admin.base_url = httpx.URL("http://sandbox/_sandbox/")
        volt = Volt(http, sb.credentials()["volt"]["token"])
        numbers = [fresh_number() for _ in range(peers)]
        for number in numbers:
            inbound(admin, number, "hi")
        seen: list[str] = []
        before = None
        while True:
            inbox = volt.data(
                'query i($b: String) { inbox(from: "+15555554321", before: $b) { items { contact '
                "{ phoneNumber } lastMessageTime } pageInfo { totalItems nextPage hasNextPage } } }",
                {"b": before},
            )["inbox"]
            assert inbox["pageInfo"]["totalItems"] == peers
            seen += [i["contact"]["phoneNumber"] for i in inbox["items"]]
            if not inbox["pageInfo"]["hasNextPage"]:
                break
            before = inbox["pageInfo"]["nextPage"]
    assert seen == list(reversed(numbers))
