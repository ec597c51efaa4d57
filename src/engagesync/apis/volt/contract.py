"""What both sides of Volt agree on: endpoint, enums, phone and URL rules, limits, cursors, timestamps,
webhook payloads and the webhook signature scheme (seed 004, ``api-surfaces.md`` §2).

The real API lives at ``https://api.respondflow.com/graphql``; the sandbox serves it at ``/volt/graphql``.
Choices where the document is silent are listed in docs/fidelity.md (Volt).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ...timefmt import parse_datetime

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")
REAL_GRAPHQL_URL = "https://api.respondflow.com/graphql"
#: Where the real Volt publishes the public key its webhooks are signed with (seed 004).
REAL_PUBLIC_KEY_URL = "https://callbacks.respondflow.com/id_rsa.pub"

GRAPHQL_PATH = "/graphql"
#: Where the sandbox publishes its webhook public key (OpenSSH ``ssh-rsa`` text, like the real file),
#: and the same key as PEM for libraries that prefer it.
PUBLIC_KEY_PATH = "/callbacks/id_rsa.pub"
PUBLIC_KEY_PEM_PATH = "/callbacks/id_rsa.pem"

SIGNATURE_HEADER = "X-Respond-Flow-Signature"

RATE_LIMIT = 100  # undocumented: emulated per token, per 60 s (docs/fidelity.md)
RATE_WINDOW = 60.0

#: ``conversation`` and ``inbox`` page sizes (the API takes no size argument).
CONVERSATION_PAGE_SIZE = 20
INBOX_PAGE_SIZE = 20

MAX_BODY_LENGTH = 1600  # a concatenated SMS (10 segments), as carriers accept
MAX_MEDIA = 10  # MMS attachments per message

# -- enums ---------------------------------------------------------------------------------------
FINAL_STATUSES: Final = ("delivered", "failed")
STATUS_DESCRIPTIONS: Final = {
    "sending": "Message queued for sending",
    "sent": "Message sent to carrier",
    "delivered": "Message delivered to handset",
    "received": "Incoming message received",  # the document's example
}
LIST_OPERATORS: Final = ("gt", "gte", "lt", "lte", "eq", "bf", "af", "is", "has", "neq", "nc")
NUMERIC_OPERATORS: Final = ("gt", "gte", "lt", "lte", "eq", "neq")
DATE_OPERATORS: Final = ("bf", "af")
TEXT_OPERATORS: Final = ("is", "has", "nc")
#: ``Wave.type`` as rendered: "one of contact, account, or group".
WAVE_TYPE_RENDERED: Final = {"account": "account", "organization": "group", "contact": "contact"}
ALL_LIST = "All"

#: Destinations that fail like real carrier errors do (Twilio-style magic numbers).
FAILING_NUMBERS: Final = {
    "+15005550001": "Invalid destination number",
    "+15005550002": "Destination handset unreachable",
    "+15005550003": "Message blocked by carrier",
    "+15005550004": "Destination is a landline",
}

# -- webhook events ------------------------------------------------------------------------------
EVENT_SENT = "message.sent"
EVENT_FINALIZED = "message.finalized"
EVENT_RECEIVED = "message.received"
EVENT_TEST = "webhook.test"
WEBHOOK_EVENTS: Final = (EVENT_SENT, EVENT_FINALIZED, EVENT_RECEIVED)


@cache
def sdl() -> str:
    return SCHEMA_PATH.read_text()


# -- phones and URLs -----------------------------------------------------------------------------
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def is_e164(value: object) -> bool:
    """``+`` and 2..15 digits, the first not 0 (ITU-T E.164); nothing else, no spaces or dashes."""
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def e164_problem(name: str, value: object) -> str | None:
    """The message an invalid phone argument gets, or ``None``."""
    if is_e164(value):
        return None
    return f"{name} must be an E.164 phone number such as +15555550123 (got {value!r})"


def is_public_url(value: object) -> bool:
    """An absolute http(s) URL with a host (media and webhook destinations)."""
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# -- time ----------------------------------------------------------------------------------------
def rfc3339(epoch: float) -> str:
    """``2021-03-29T20:00:35.344134Z``: UTC, microseconds with trailing zeros trimmed (as the examples)."""
    text = datetime.fromtimestamp(round(epoch, 6), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


#: ``confirmedAt`` of a message the provider has not confirmed yet (a zero timestamp; the field is non-null).
UNCONFIRMED = "0001-01-01T00:00:00Z"


def parse_scheduled_time(value: str) -> float:
    """``YYYY-MM-DD HH:MM:SS`` in UTC, as documented (an offset-less time, which ``timefmt`` reads as UTC);
    RFC 3339 (``T``, ``Z`` or an offset) also accepted."""
    try:
        return parse_datetime(value).timestamp()
    except ValueError:
        raise ValueError(f'scheduledTime must be UTC "YYYY-MM-DD HH:MM:SS" (got {value!r})') from None


# -- cursors -------------------------------------------------------------------------------------
def encode_cursor(at: float, key: int) -> str:
    """The ``before`` cursor: standard base64 of ``<RFC 3339 time of the last item>|<its key>``."""
    return base64.b64encode(f"{rfc3339(at)}|{key}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The item key a cursor names; ``ValueError`` if it is not one of ours."""
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        _, _, key = text.rpartition("|")
        if not _ or not key.isdigit():
            raise ValueError(cursor)
        return int(key)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ValueError(f"invalid cursor {cursor!r}") from None


# -- webhooks ------------------------------------------------------------------------------------
def message_event(event_type: str, event_id: str, at: float, message: dict[str, Any]) -> dict[str, Any]:
    """A webhook body: ``{id, created_at, payload}``, the payload in snake_case as receivers read it
    (``payload.event_type``, ``direction``, ``from_number``, ``to_number``, ``text``, ``type``)."""
    media = list(message.get("media") or [])
    return {
        "id": event_id,
        "created_at": rfc3339(at),
        "payload": {
            "event_type": event_type,
            "direction": "inbound" if message["status"] == "received" else "outbound",
            "type": "mms" if media else "sms",
            "id": message["id"],
            "legacy_id": message["legacyId"],
            "from_number": message["fromNumber"],
            "to_number": message["toNumber"],
            "text": message["body"],
            "media": media,
            "status": message["status"],
            "status_description": message["statusDescription"],
            "sent_at": message["sentAt"],
            "confirmed_at": message["confirmedAt"],
            "account_id": message.get("accountId"),
            "organization_id": message.get("organizationId"),
            "contact_id": message.get("contactId"),
            "wave_id": message.get("waveId"),
        },
    }


def test_event(event_id: str, at: float, url: str) -> dict[str, Any]:
    """The request sent to a URL being registered (it must answer 2xx)."""
    return {"id": event_id, "created_at": rfc3339(at), "payload": {"event_type": EVENT_TEST, "url": url}}


# -- signatures ----------------------------------------------------------------------------------
# RSA PKCS#1 v1.5 with SHA-256 over the exact request body bytes, base64 in X-Respond-Flow-Signature.
def sign(private_key: rsa.RSAPrivateKey, body: bytes) -> str:
    return base64.b64encode(private_key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def load_public_key(text: str | bytes) -> rsa.RSAPublicKey:
    """The published key, in OpenSSH (``ssh-rsa AAAA...``, as ``id_rsa.pub`` files are) or PEM form."""
    data = text.encode() if isinstance(text, str) else text
    data = data.strip()
    key = (
        serialization.load_ssh_public_key(data) if data.startswith(b"ssh-") else serialization.load_pem_public_key(data)
    )
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the Volt webhook key is an RSA key")
    return key


def pem_key_text(text: str | bytes) -> str:
    """A published key (OpenSSH or PEM) as PEM text, to pin; ``ValueError`` if it is not an RSA key."""
    key = load_public_key(text)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def verify(public_key: rsa.RSAPublicKey | str | bytes, body: bytes, signature: str | bytes | None) -> bool:
    """True if ``signature`` (the header's value, as str or as the raw header bytes) signs ``body`` under Volt's key.

    Public-key verification involves no shared secret, so there is nothing to compare in constant time.
    """
    if not signature:
        return False
    key = public_key if isinstance(public_key, rsa.RSAPublicKey) else load_public_key(public_key)
    try:
        encoded = signature.encode() if isinstance(signature, str) else bytes(signature)
        raw = base64.b64decode(encoded.strip(), validate=True)
        key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def openssh_public_key(private_key: rsa.RSAPrivateKey, comment: str = "callbacks@respondflow.com") -> str:
    raw = private_key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{raw.decode()} {comment}\n"


def pem_public_key(private_key: rsa.RSAPrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def media_problems(media: Sequence[Any] | None) -> list[str]:
    if not media:
        return []
    problems = [f"media must be public http(s) URLs (got {m!r})" for m in media if not is_public_url(m)]
    if len(media) > MAX_MEDIA:
        problems.append(f"at most {MAX_MEDIA} media URLs per message (got {len(media)})")
    return problems


# -- the rules of each operation -----------------------------------------------------------------
# One contract: the emulator's resolvers refuse with these messages and the connector's actions
# reject a record with the same ones before sending it. Each rule is ``(argument, message)``; the
# message names its argument. What needs the organization's data (does the list exist, is the field
# defined, is the number the account's) is checked by the server only.
Rule = tuple[str, str]
#: Wave ids are numeric and increase per organization; the document's examples start at 12345.
WAVE_ID_FLOOR = 12345


def body_problems(body: str, media: Sequence[Any] | None, name: str = "body") -> list[Rule]:
    """A text body (``name``) with its media: not blank unless media is attached, at most 1600 characters."""
    problems: list[Rule] = [("media", p) for p in media_problems(media)]
    if not str(body).strip() and not media:
        problems.append((name, f"{name} must not be blank (or attach media)"))
    if len(str(body)) > MAX_BODY_LENGTH:
        problems.append((name, f"{name} is longer than {MAX_BODY_LENGTH} characters ({len(str(body))})"))
    return problems


def scheduled_time_problem(value: object) -> Rule | None:
    try:
        parse_scheduled_time(str(value))
    except ValueError as exc:
        return ("scheduledTime", str(exc))
    return None


def list_query_problems(query: Mapping[str, Any]) -> list[Rule]:
    """``createOrUpdateList``'s ``listQuery``: a name that is not the built-in list, not built from itself."""
    name = str(query.get("listName") or "").strip()
    source = query.get("querySourceListName") or None
    if not name:
        return [("listName", "listName must not be blank")]
    problems: list[Rule] = []
    if name == ALL_LIST:
        problems.append(("listName", f'the "{ALL_LIST}" list is built in and cannot be changed'))
    if source == name:
        problems.append(("querySourceListName", "querySourceListName: a list cannot be built from itself"))
    for rule in query.get("queryCustomFields") or []:
        if not isinstance(rule, Mapping) or not str(rule.get("field") or "").strip():
            problems.append(("queryCustomFields", "queryCustomFields: each rule needs a field"))
        elif rule.get("operator") not in LIST_OPERATORS:
            problems.append(
                (
                    "queryCustomFields",
                    f'queryCustomFields: operator "{rule.get("operator")}" is not one of {", ".join(LIST_OPERATORS)}',
                )
            )
    return problems


def schedule_message_problems(
    numbers: Sequence[Any], body: str, media: Sequence[Any] | None, scheduled_time: object
) -> list[Rule]:
    """``scheduleMessage``: at least one E.164 contact number, a sendable body, a UTC time."""
    problems: list[Rule] = [("contactNumbers", p) for p in (e164_problem("contactNumbers", n) for n in numbers) if p]
    if not numbers:
        problems.append(("contactNumbers", "contactNumbers must name at least one phone number"))
    problems += body_problems(body, media, "messageBody")
    time = scheduled_time_problem(scheduled_time)
    return problems + ([time] if time else [])


def schedule_wave_problems(
    kind: str,
    primary_phone: str | None,
    name: str,
    body: str,
    media: Sequence[Any] | None,
    list_names: Sequence[Any],
    scheduled_time: object,
) -> list[Rule]:
    """``scheduleWave``: a named wave over at least one list, a sendable body, a UTC time; an account
    wave needs the account's number (an organization wave may go to every account's lists)."""
    problems: list[Rule] = [] if str(name).strip() else [("waveName", "waveName must not be blank")]
    problems += body_problems(body, media, "messageBody")
    if not list_names:
        problems.append(("listNames", "listNames must name at least one list"))
    time = scheduled_time_problem(scheduled_time)
    if time:
        problems.append(time)
    if kind == "account" and not primary_phone:
        problems.append(("primaryPhone", "primaryPhone is required for an account wave"))
    return problems


def webhook_url_problem(url: object) -> Rule | None:
    return None if is_public_url(url) else ("url", f"url must be an absolute http(s) URL (got {url!r})")


def webhook_id_problem(value: object) -> Rule | None:
    """A webhook id is the number ``registerWebhook`` returned."""
    text = str(value).strip()
    return None if text.isdigit() and len(text) < 19 else ("id", f"webhook {value} not found")
