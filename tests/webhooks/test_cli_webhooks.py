"""The webhook commands' user errors (one line, exit 2) and the generic Standard Webhooks endpoint."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from engagesync.sandbox.app import Sandbox
from engagesync.sync.webhooks import verify

from ..cli_helpers import run_cli


@pytest.fixture
def connected(home: Path, live_sandbox: Sandbox) -> Path:
    assert run_cli("connect", "--sandbox", str(live_sandbox.url))[0] == 0
    return home


@pytest.mark.parametrize("api", ["growthgenius", "groove-sales"])
def test_apis_without_a_webhook_api_say_so_in_one_line(connected: Path, api: str) -> None:
    code, output = run_cli("webhooks", "register", api, "--url", "http://127.0.0.1:9")
    assert code == 2
    assert output.count("\n") == 1 and "webhook" in output and "Traceback" not in output
    assert (
        not (connected / "home" / "webhooks.json").exists()
        or api not in json.loads((connected / "home" / "webhooks.json").read_text())["endpoints"]
    )


def test_unknown_groove_event_and_volt_events_are_usage_errors(connected: Path) -> None:
    code, output = run_cli("webhooks", "register", "groove-helpdesk", "--url", "http://127.0.0.1:9", "--events", "nope")
    assert code == 2 and "'nope' is not a Groove helpdesk webhook event" in output
    code, output = run_cli("webhooks", "register", "volt", "--url", "ftp://x")
    assert code == 2 and "--url" in output


def test_listen_beyond_loopback_needs_allow_remote(home: Path) -> None:
    code, output = run_cli("listen", "--host", "0.0.0.0", "--port", "0")
    assert code == 2 and "--allow-remote" in output


def test_a_standard_endpoint_gets_a_secret_once_and_checks_given_ones(home: Path) -> None:
    code, output = run_cli("webhooks", "endpoint", "add", "responses")
    assert code == 0 and "/hooks/responses/" in output
    secret = output.split("(shown once): ")[1].split()[0]
    verify.check_secret(secret)
    stored = (home / "home" / "webhooks.json").stat().st_mode & 0o777
    assert stored == 0o600
    code, listing = run_cli("webhooks", "endpoints", "--json")
    assert code == 0 and secret not in listing and output.split("/hooks/responses/")[1].split()[0] not in listing
    code, output = run_cli("webhooks", "endpoint", "add", "bad", "--secret", "hunter2")
    assert code == 2 and "whsec_" in output and "hunter2" not in output


def test_ed25519_and_rotated_secrets_verify() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    raw_private = private.private_bytes_raw()
    signing = "whsk_" + __import__("base64").b64encode(raw_private).decode()
    public = "whpk_" + __import__("base64").b64encode(private.public_key().public_bytes_raw()).decode()
    body, now = b'{"type":"x"}', int(time.time())
    signature = verify.standard_sign(signing, "msg_1", now, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signature}
    assert verify.standard([public], headers, body) is None
    assert verify.standard([public], headers, body + b"x") is not None
    old, new = verify.new_hmac_secret(), verify.new_hmac_secret()
    rotated = {**headers, "webhook-signature": f"{verify.standard_sign(old, 'msg_1', now, body)} "
               f"{verify.standard_sign(new, 'msg_1', now, body)}"}  # fmt: skip
    assert verify.standard([new], rotated, body) is None  # any one valid entry passes
    assert verify.standard([verify.new_hmac_secret()], rotated, body) == "no valid signature in webhook-signature"
