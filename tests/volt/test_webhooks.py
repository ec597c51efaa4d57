"""Volt webhooks as a receiver sees them: registration with a test request, message.sent /
message.finalized on the carrier's schedule (virtual clock), message.received for inbound texts,
every request signed in X-Respond-Flow-Signature and verifiable with the published public key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from engagesync.apis.volt import contract
from engagesync.sandbox.app import Sandbox

from .conftest import PRIMARY, WILE, Volt, send

SINK = "http://sandbox/_sandbox/sink/volt"


def register(volt: Volt, url: str = SINK) -> httpx.Response:
    return volt.gql("mutation r($url: String!) { registerWebhook(url: $url) { id url } }", {"url": url})


def received(admin: httpx.Client, name: str = "volt") -> list[dict[str, Any]]:
    return list(admin.get(f"sink/{name}").json()["received"])


def public_key(http: httpx.Client, creds: dict[str, Any]) -> str:
    response = http.get(creds["public_key_url"])
    assert response.status_code == 200
    return response.text


@pytest.fixture
def frozen(admin: httpx.Client) -> httpx.Client:
    admin.post("clock/freeze")
    return admin


def test_the_public_key_is_published_without_auth_in_openssh_and_pem(http: httpx.Client, creds: dict[str, Any]) -> None:
    ssh = public_key(http, creds)
    assert ssh.startswith("ssh-rsa AAAA")
    pem = http.get(creds["public_key_pem_url"]).text
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert contract.load_public_key(ssh).public_numbers() == contract.load_public_key(pem).public_numbers()


def test_registration_sends_a_signed_test_request(
    volt: Volt, http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]
) -> None:
    response = register(volt)
    assert response.json() == {"data": {"registerWebhook": {"id": "1234", "url": SINK}}}
    [test] = received(admin)
    assert test["body"]["payload"] == {"event_type": "webhook.test", "url": SINK}
    signature = test["headers"]["x-respond-flow-signature"]
    key = public_key(http, creds)
    assert contract.verify(key, test["raw"].encode(), signature)
    assert not contract.verify(key, test["raw"].encode() + b" ", signature)
    assert not contract.verify(key, test["raw"].encode(), None)


def test_verify_takes_the_signature_as_str_or_bytes(
    volt: Volt, http: httpx.Client, admin: httpx.Client, creds: dict[str, Any]
) -> None:
    """Raw header values (ASGI scopes, ``http.server``) are bytes; they verify like their str form."""
    register(volt)
    [test] = received(admin)
    signature: str = test["headers"]["x-respond-flow-signature"]
    key = public_key(http, creds)
    body = test["raw"].encode()
    assert contract.verify(key, body, signature.encode())
    assert contract.verify(key, body, bytearray(signature.encode()) + b"\r\n")
    assert not contract.verify(key, body + b" ", signature.encode())
    assert not contract.verify(key, body, b"\xff not base64")
    assert not contract.verify(key, body, b"")


def test_registration_fails_when_the_url_does_not_answer_2xx(volt: Volt, admin: httpx.Client) -> None:
    body = register(volt, SINK + "?status=500").json()
    assert body["data"] == {"registerWebhook": None}
    assert body["errors"][0]["message"] == (
        "webhook test request to the URL failed (receiver answered 500); it must answer with a 2xx status"
    )
    assert volt.data("{ webhooks { id } }") == {"webhooks": []}
    [delivery] = admin.get("webhooks/deliveries", params={"api": "volt"}).json()["deliveries"]
    assert (delivery["event"], delivery["status"], len(delivery["attempts"])) == ("webhook.test", "failed", 1)


def test_registering_the_same_url_twice_is_one_webhook(volt: Volt, admin: httpx.Client) -> None:
    first = register(volt).json()["data"]["registerWebhook"]
    again = register(volt).json()["data"]["registerWebhook"]
    assert first == again
    assert len(volt.data("{ webhooks { id } }")["webhooks"]) == 1
    assert len(received(admin)) == 1  # no second test request


def test_a_sent_message_reports_sent_then_delivered_on_the_virtual_clock(
    volt: Volt, http: httpx.Client, frozen: httpx.Client, creds: dict[str, Any]
) -> None:
    register(volt)
    frozen.delete("sink/volt")
    message = send(volt, WILE, "Meep meep")
    assert (message["status"], message["confirmedAt"]) == ("sending", contract.UNCONFIRMED)
    assert received(frozen) == []
    by_id = "query m($id: ID!) { message(id: $id) { status statusDescription confirmedAt } }"

    frozen.post("clock/advance", json={"seconds": 1})
    assert volt.data(by_id, {"id": message["id"]})["message"] == {
        "status": "sent",
        "statusDescription": "Message sent to carrier",
        "confirmedAt": contract.UNCONFIRMED,
    }
    [sent] = received(frozen)
    assert sent["body"]["payload"]["event_type"] == "message.sent"

    frozen.post("clock/advance", json={"seconds": 4})
    after = volt.data(by_id, {"id": message["id"]})["message"]
    assert (after["status"], after["statusDescription"]) == ("delivered", "Message delivered to handset")
    assert after["confirmedAt"] > message["sentAt"]
    events = received(frozen)
    assert [e["body"]["payload"]["event_type"] for e in events] == ["message.sent", "message.finalized"]
    final = events[1]["body"]["payload"]
    assert {
        k: final[k]
        for k in ("direction", "type", "id", "legacy_id", "from_number", "to_number", "text", "status", "confirmed_at")
    } == {
        "direction": "outbound",
        "type": "sms",
        "id": message["id"],
        "legacy_id": message["legacyId"],
        "from_number": message["fromNumber"],
        "to_number": WILE,
        "text": "Meep meep",
        "status": "delivered",
        "confirmed_at": after["confirmedAt"],
    }
    key = public_key(http, creds)
    for event in events:
        assert contract.verify(key, event["raw"].encode(), event["headers"]["x-respond-flow-signature"])


def test_a_failing_destination_is_finalized_as_failed(volt: Volt, frozen: httpx.Client) -> None:
    register(volt)
    message = send(volt, "+15005550001")
    frozen.post("clock/advance", json={"seconds": 10})
    got = volt.data("query m($id: ID!) { message(id: $id) { status statusDescription } }", {"id": message["id"]})
    assert got["message"] == {"status": "failed", "statusDescription": "Invalid destination number"}
    final = received(frozen)[-1]["body"]["payload"]
    assert (final["event_type"], final["status"]) == ("message.finalized", "failed")


def test_carrier_delays_are_configurable(volt: Volt, admin: httpx.Client) -> None:
    assert admin.put("volt/settings", json={"sent_after_seconds": 0, "delivered_after_seconds": 0}).json() == {
        "sent_after_seconds": 0.0,
        "delivered_after_seconds": 0.0,
    }
    assert send(volt, WILE)["status"] == "delivered"
    assert admin.put("volt/settings", json={"sent_after_seconds": -1}).status_code == 400
    assert admin.put("volt/settings", json={"speed": 1}).status_code == 400


def test_an_inbound_text_is_recorded_and_reported(
    volt: Volt, admin: httpx.Client, http: httpx.Client, creds: dict[str, Any]
) -> None:
    register(volt)
    admin.delete("sink/volt")
    stranger = "+15557770001"
    response = admin.post(
        "volt/inbound",
        json={
            "from": stranger,
            "to": PRIMARY,
            "body": "Is this the ACME store?",
            "media": ["https://example.com/a.png"],
        },
    )
    assert response.status_code == 201
    message = response.json()["message"]
    assert (message["status"], message["statusDescription"], message["fromNumber"], message["toNumber"]) == (
        "received",
        "Incoming message received",
        stranger,
        PRIMARY,
    )
    [event] = received(admin)
    payload = event["body"]["payload"]
    assert (payload["event_type"], payload["direction"], payload["type"], payload["text"]) == (
        "message.received",
        "inbound",
        "mms",
        "Is this the ACME store?",
    )
    assert contract.verify(public_key(http, creds), event["raw"].encode(), event["headers"]["x-respond-flow-signature"])
    # the sender became a contact, the conversation and the inbox show the text, unread
    contact = volt.data(
        'query c($n: String!) { contact(primaryPhone: "+15555554321", phoneNumber: $n) { name phoneNumber } }',
        {"n": stranger},
    )["contact"]
    assert contact == {"name": stranger, "phoneNumber": stranger}
    convo = volt.data(
        'query c($to: String!) { conversation(to: $to, from: "+15555554321") { messages { id body } '
        "pageInfo { totalItems } } }",
        {"to": stranger},
    )["conversation"]
    assert convo == {
        "messages": [{"id": message["id"], "body": "Is this the ACME store?"}],
        "pageInfo": {"totalItems": 1},
    }
    top = volt.data('{ inbox(from: "+15555554321") { items { contact { phoneNumber } lastMessage isUnread } } }')
    assert top["inbox"]["items"][0] == {
        "contact": {"phoneNumber": stranger},
        "lastMessage": "Is this the ACME store?",
        "isUnread": True,
    }
    # replying makes the conversation read
    send(volt, stranger, "Yes it is!")
    top = volt.data('{ inbox(from: "+15555554321") { items { lastMessage isUnread } } }')
    assert top["inbox"]["items"][0] == {"lastMessage": "Yes it is!", "isUnread": False}


def test_inbound_from_a_blocked_contact_is_not_processed(volt: Volt, admin: httpx.Client) -> None:
    register(volt)
    admin.delete("sink/volt")
    volt.data(
        'mutation { createOrUpdateContact(name: "Wile E. Coyote", phoneNumber: "+15555556893", '
        'accountPhone: "+15555554321", customFields: [], blocked: true) { id } }'
    )
    response = admin.post("volt/inbound", json={"from": WILE, "to": PRIMARY, "body": "let me in"})
    assert response.status_code == 202
    assert response.json() == {"processed": False, "reason": "contact +15555556893 is blocked"}
    assert received(admin) == []


def test_inbound_admin_route_validates(admin: httpx.Client) -> None:
    assert admin.post("volt/inbound", json={"from": "555", "to": PRIMARY, "body": "x"}).status_code == 400
    response = admin.post("volt/inbound", json={"from": WILE, "to": "+15550000000", "body": "x"})
    assert response.status_code == 404
    assert "not a phone number on this organization" in response.json()["error"]


def test_deleting_a_webhook_stops_its_deliveries(volt: Volt, admin: httpx.Client) -> None:
    admin.put("volt/settings", json={"sent_after_seconds": 0, "delivered_after_seconds": 0})
    hook = register(volt).json()["data"]["registerWebhook"]
    volt.data("mutation d($id: ID!) { deleteWebhook(id: $id) { id } }", {"id": hook["id"]})
    admin.delete("sink/volt")
    send(volt, WILE)
    assert received(admin) == []


def test_a_scheduled_wave_sends_to_its_list_when_due(volt: Volt, frozen: httpx.Client) -> None:
    frozen.put("volt/settings", json={"sent_after_seconds": 0, "delivered_after_seconds": 0})
    now = frozen.get("clock").json()["epoch"]
    from datetime import UTC, datetime

    at = datetime.fromtimestamp(now + 3600, UTC).strftime("%Y-%m-%d %H:%M:%S")
    wave = volt.data(
        'mutation w($at: String!) { scheduleWave(type: account, primaryPhone: "+15555554321", '
        'status: scheduled, wave: {waveName: "Coyote sale", scheduledTime: $at, messageBody: '
        '"Hi {contact.first_name}!", listNames: ["Coyotes"]}) { id totalMessages } }',
        {"at": at},
    )["scheduleWave"]
    assert wave["totalMessages"] == 0
    members = volt.data('{ list(primaryPhone: "+15555554321", listName: "Coyotes") { size } }')["list"]["size"]
    frozen.post("clock/advance", json={"seconds": 3600})
    query = "query w($id: ID!) { wave(id: $id) { totalMessages totalMessagesDelivered totalMessagesFailed } }"
    totals = volt.data(query, {"id": wave["id"]})["wave"]
    assert 0 < totals["totalMessages"] <= members  # blocked members are skipped
    assert totals["totalMessages"] == totals["totalMessagesDelivered"] + totals["totalMessagesFailed"]
    convo = volt.data(
        'query c { conversation(to: "+15555556893", from: "+15555554321") { messages { body wave { id } } } }'
    )["conversation"]["messages"][0]
    assert convo == {"body": "Hi Wile!", "wave": {"id": wave["id"]}}


def test_a_draft_wave_is_never_sent(volt: Volt, frozen: httpx.Client) -> None:
    wave = volt.data(
        'mutation { scheduleWave(type: organization, status: draft, wave: {waveName: "Draft", '
        'scheduledTime: "2000-01-01 00:00:00", messageBody: "Hi", listNames: ["All"]}) { id type '
        "lists { name } } }"
    )["scheduleWave"]
    assert wave["type"] == "group"
    assert [lst["name"] for lst in wave["lists"]] == ["All", "All"]  # the All list of both seeded accounts
    frozen.post("clock/advance", json={"seconds": 86400})
    assert volt.data("query w($id: ID!) { wave(id: $id) { totalMessages } }", {"id": wave["id"]}) == {
        "wave": {"totalMessages": 0}
    }


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[bytes, dict[str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).got.append((body, dict(self.headers.items())))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    """A plain HTTP receiver on loopback, outside the sandbox: what a customer's endpoint sees."""
    got: list[tuple[bytes, dict[str, str]]] = []
    handler = type("Receiver", (_Receiver,), {"got": got})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/volt-hook", got
    finally:
        server.shutdown()
        server.server_close()


def test_over_loopback_a_real_receiver_can_verify_every_request(
    live_sandbox: Sandbox, receiver: tuple[str, list[tuple[bytes, dict[str, str]]]]
) -> None:
    url, got = receiver
    base = str(live_sandbox.url)
    creds = live_sandbox.credentials(base_url=base)["volt"]
    with httpx.Client(base_url=base) as client:
        volt = Volt(client, creds["token"])
        client.put("/_sandbox/volt/settings", json={"sent_after_seconds": 0, "delivered_after_seconds": 0})
        assert register(volt, url).json()["data"]["registerWebhook"]["url"] == url
        send(volt, WILE, "over the wire")
        deliveries = client.get("/_sandbox/webhooks/deliveries", params={"api": "volt"}).json()["deliveries"]
        assert [d["status"] for d in deliveries] == ["delivered"] * 3
        key = client.get(creds["public_key_url"]).text
    events = []
    for body, headers in got:
        signature = {k.lower(): v for k, v in headers.items()}["x-respond-flow-signature"]
        assert contract.verify(key, body, signature)
        events.append(httpx.Response(200, content=body).json()["payload"]["event_type"])
    assert events == ["webhook.test", "message.sent", "message.finalized"]
