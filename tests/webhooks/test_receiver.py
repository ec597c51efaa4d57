"""The receiver in-process: each forged or broken request is refused and not stored; a replay is
answered 2xx and stored once; a full queue answers 503 with Retry-After."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from engagesync.apis.volt import contract
from engagesync.sync.webhooks.endpoints import Endpoint
from engagesync.sync.webhooks.receiver import Settings

from .conftest import SECRET, Harness, standard_headers

VOLT_BODY = json.dumps(
    contract.message_event(
        "message.sent",
        "3f0c1b9e-0000-4000-8000-000000000001",
        1617048035.0,
        {
            "status": "sent",
            "id": "m1",
            "legacyId": 1,
            "fromNumber": "+15555554321",
            "toNumber": "+15555556893",
            "body": "Meep",
            "statusDescription": "Message sent to carrier",
            "sentAt": "2021-03-29T20:00:35Z",
            "confirmedAt": contract.UNCONFIRMED,
        },
    ),
    separators=(",", ":"),
).encode()


def volt_endpoint(h: Harness, key: rsa.RSAPrivateKey) -> Endpoint:
    return h.add(Endpoint("volt", "rsa-sha256", "tok-volt", "volt", "volt", public_key=contract.pem_public_key(key)))


def test_a_genuine_volt_event_is_stored_with_typed_columns_and_a_replay_once(
    harness: Harness, rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    key, _ = rsa_keys
    volt_endpoint(harness, key)
    headers = {contract.SIGNATURE_HEADER: contract.sign(key, VOLT_BODY)}
    first, replay = harness.post_many(
        [("/hooks/volt/tok-volt", VOLT_BODY, headers), ("/hooks/volt/tok-volt", VOLT_BODY, headers)]
    )
    assert sorted([first.json()["stored"], replay.json()["stored"]]) == [False, True]
    assert first.status_code == replay.status_code == 200
    again = harness.post("/hooks/volt/tok-volt", VOLT_BODY, headers)  # a later replay, after a commit
    assert (again.status_code, again.json()["stored"]) == (200, False)
    [row] = harness.rows("volt")
    assert (row["id"], row["type"], row["scheme"]) == (
        "3f0c1b9e-0000-4000-8000-000000000001",
        "message.sent",
        "rsa-sha256",
    )
    assert (row["message_id"], row["status"], row["to_number"], row["text"]) == ("m1", "sent", "+15555556893", "Meep")
    assert bytes(row["body"]) == VOLT_BODY


def test_a_body_signed_with_another_key_is_refused(
    harness: Harness, rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    key, forger = rsa_keys
    volt_endpoint(harness, key)
    response = harness.post(
        "/hooks/volt/tok-volt", VOLT_BODY, {contract.SIGNATURE_HEADER: contract.sign(forger, VOLT_BODY)}
    )
    assert response.status_code == 401
    assert harness.rows("volt") == []


def test_a_tampered_body_is_refused(harness: Harness, rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> None:
    key, _ = rsa_keys
    volt_endpoint(harness, key)
    tampered = VOLT_BODY.replace(b"Meep", b"Beep")
    response = harness.post(
        "/hooks/volt/tok-volt", tampered, {contract.SIGNATURE_HEADER: contract.sign(key, VOLT_BODY)}
    )
    assert response.status_code == 401
    assert harness.rows("volt") == []


def test_a_missing_or_malformed_signature_header_is_refused(
    harness: Harness, rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    key, _ = rsa_keys
    volt_endpoint(harness, key)
    missing = harness.post("/hooks/volt/tok-volt", VOLT_BODY, {})
    malformed = harness.post("/hooks/volt/tok-volt", VOLT_BODY, {contract.SIGNATURE_HEADER: "not base64!!"})
    assert (missing.status_code, missing.json()["error"]) == (400, "missing signature header")
    assert malformed.status_code in (400, 401)
    assert harness.rows("volt") == []


def test_a_wrong_url_secret_is_refused(harness: Harness, rsa_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> None:
    key, _ = rsa_keys
    volt_endpoint(harness, key)
    headers = {contract.SIGNATURE_HEADER: contract.sign(key, VOLT_BODY)}
    assert harness.post("/hooks/volt/tok-volX", VOLT_BODY, headers).status_code == 404
    assert harness.post("/hooks/other/tok-volt", VOLT_BODY, headers).status_code == 404
    assert harness.rows("volt") == []


def test_a_url_secret_endpoint_needs_its_event_header(harness: Harness) -> None:
    harness.add(Endpoint("helpdesk", "url-secret", "tok-h", "helpdesk", "groove-helpdesk"))
    body = b'{"number":7,"state":"opened","title":"Hi","updated_at":"2026-01-02T03:04:05Z"}'
    assert harness.post("/hooks/helpdesk/tok-h", body, {}).status_code == 400
    assert harness.post("/hooks/helpdesk/wrong", body, {"X-Groove-Event": "ticket_opened"}).status_code == 404
    ok = harness.post("/hooks/helpdesk/tok-h", body, {"X-Groove-Event": "ticket_opened"})
    again = harness.post("/hooks/helpdesk/tok-h", body, {"X-Groove-Event": "ticket_opened"})
    assert (ok.json()["stored"], again.json()["stored"]) == (True, False)
    [row] = harness.rows("helpdesk")
    assert (row["type"], row["number"], row["state"], str(row["updated_at"])) == (
        "ticket_opened",
        7,
        "opened",
        "2026-01-02 03:04:05",
    )


def test_standard_webhooks_outside_the_tolerance_or_forged_are_refused(harness: Harness) -> None:
    harness.add(Endpoint("responses", "standard", "tok-r", secrets=[SECRET]))
    body = b'{"type":"response.created","data":{"status":201}}'
    path = "/hooks/responses/tok-r"
    stale = harness.post(path, body, standard_headers(SECRET, "msg_1", body, at=time.time() - 301))
    future = harness.post(path, body, standard_headers(SECRET, "msg_1", body, at=time.time() + 301))
    other = "whsec_" + "b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA=="
    forged = harness.post(path, body, standard_headers(other, "msg_1", body))
    tampered = harness.post(path, body + b" ", standard_headers(SECRET, "msg_1", body))
    missing = harness.post(path, body, {"webhook-id": "msg_1"})
    malformed = harness.post(path, body, {**standard_headers(SECRET, "msg_1", body), "webhook-signature": "v1"})
    assert [r.status_code for r in (stale, future, forged, tampered, missing, malformed)] == [
        401,
        401,
        401,
        401,
        400,
        400,
    ]
    assert harness.rows("responses") == []
    ok = harness.post(path, body, standard_headers(SECRET, "msg_1", body))
    replay = harness.post(path, body, standard_headers(SECRET, "msg_1", body))  # fresh timestamp, same id
    assert (ok.status_code, ok.json()["stored"], replay.status_code, replay.json()["stored"]) == (200, True, 200, False)
    [row] = harness.rows("responses")
    assert (row["id"], row["type"], row["scheme"]) == ("msg_1", "response.created", "standard")


def test_a_full_queue_answers_503_with_retry_after_and_drops_nothing(tmp_path: Path) -> None:
    h = Harness(tmp_path, Settings(queue_size=1, batch=1))
    h.add(Endpoint("responses", "standard", "tok-r", secrets=[SECRET]))
    bodies = [json.dumps({"type": "t", "n": i}).encode() for i in range(6)]
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # another user of the store: the writer's first commit waits for it
        with h.store.transaction():
            held.set()
            release.wait(10)

    async def run() -> list[httpx.Response]:
        async with h.receiver.lifespan(h.receiver.app):
            holder = threading.Thread(target=hold)
            holder.start()
            held.wait(10)
            transport = httpx.ASGITransport(app=h.receiver.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://listen") as client:
                sent = [
                    asyncio.create_task(
                        client.post("/hooks/responses/tok-r", content=b, headers=standard_headers(SECRET, f"m{i}", b))
                    )
                    for i, b in enumerate(bodies)
                ]
                while sum(t.done() for t in sent) < 4:  # at most 1 with the writer and 1 queued: 4+ get 503
                    await asyncio.sleep(0.01)
                release.set()
                responses = list(await asyncio.gather(*sent))
            holder.join()
            return responses

    responses = asyncio.run(run())
    busy = [r for r in responses if r.status_code == 503]
    assert len(busy) >= 4 and all(r.headers["Retry-After"] == "1" for r in busy)
    accepted = [r.json()["stored"] for r in responses if r.status_code == 200]
    assert accepted and all(accepted) and len(accepted) + len(busy) == 6
    assert len(h.rows("responses")) == len(accepted)  # every acknowledged event is stored
    h.store.close()
