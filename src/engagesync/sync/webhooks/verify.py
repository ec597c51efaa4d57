"""Signature checks on the raw request bytes: Standard Webhooks (HMAC-SHA256 ``v1``, Ed25519 ``v1a``) and
RSA PKCS#1 v1.5 SHA-256 over the body (Volt's kind). Nothing here parses or re-serialises the body.

Each check returns ``None`` when the request is genuine, else the reason (never echoing secrets or
signatures). HMAC comparisons are constant time; public-key checks involve no shared secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

#: Standard Webhooks: reject timestamps further than this from now (either way).
DEFAULT_TOLERANCE = 300.0
HMAC_PREFIX = "whsec_"
ED25519_PUBLIC_PREFIX = "whpk_"
ED25519_SECRET_PREFIX = "whsk_"


class BadSecret(ValueError):
    """A configured secret or key that is not in a form the scheme knows."""


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode(), validate=True)
    except (binascii.Error, ValueError):
        raise BadSecret("not base64") from None


def new_hmac_secret() -> str:
    """A fresh ``whsec_`` secret (24 random bytes, as Svix and the spec's examples use)."""
    return HMAC_PREFIX + base64.b64encode(_secrets.token_bytes(24)).decode()


def check_secret(secret: str) -> None:
    """Raise ``BadSecret`` naming the expected form unless ``secret`` is a usable verification secret."""
    if secret.startswith(HMAC_PREFIX):
        if len(_b64(secret[len(HMAC_PREFIX) :])) < 16:
            raise BadSecret("a whsec_ secret holds at least 16 bytes")
    elif secret.startswith(ED25519_PUBLIC_PREFIX):
        if len(_b64(secret[len(ED25519_PUBLIC_PREFIX) :])) != 32:
            raise BadSecret("a whpk_ key is 32 bytes (an Ed25519 public key)")
    else:
        raise BadSecret("expected whsec_<base64> (HMAC-SHA256) or whpk_<base64> (Ed25519 public key)")


def standard_sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value a sender with ``secret`` (``whsec_``/``whsk_``) would send."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    if secret.startswith(ED25519_SECRET_PREFIX):
        key = ed25519.Ed25519PrivateKey.from_private_bytes(_b64(secret[len(ED25519_SECRET_PREFIX) :])[:32])
        return "v1a," + base64.b64encode(key.sign(content)).decode()
    mac = hmac.new(_b64(secret[len(HMAC_PREFIX) :]), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def standard(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> str | None:
    """Standard Webhooks: ``{webhook-id}.{webhook-timestamp}.{body}`` signed by any one of ``secrets``."""
    msg_id, stamp, header = (headers.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not msg_id or not stamp or not header:
        return "missing webhook-id, webhook-timestamp or webhook-signature header"
    try:
        sent = int(stamp)
    except ValueError:
        return "webhook-timestamp is not a whole number of seconds"
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return f"webhook-timestamp is more than {tolerance:g} s from now (a stale or replayed delivery)"
    content = f"{msg_id}.{sent}.".encode() + body
    macs = [_b64(s[len(HMAC_PREFIX) :]) for s in secrets if s.startswith(HMAC_PREFIX)]
    keys = [_b64(s[len(ED25519_PUBLIC_PREFIX) :]) for s in secrets if s.startswith(ED25519_PUBLIC_PREFIX)]
    well_formed = False
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        try:
            given = base64.b64decode(encoded.encode(), validate=True)
        except (binascii.Error, ValueError):
            continue
        if version == "v1" and given:
            well_formed = True
            if any(hmac.compare_digest(hmac.new(k, content, hashlib.sha256).digest(), given) for k in macs):
                return None
        elif version == "v1a" and given:
            well_formed = True
            for raw in keys:
                try:
                    ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(given, content)
                    return None
                except InvalidSignature:
                    continue
    return "no valid signature in webhook-signature" if well_formed else "webhook-signature is malformed"


def rsa_sha256(public_key_pem: str, signature: str | None, body: bytes) -> str | None:
    """RSA PKCS#1 v1.5 with SHA-256 over the exact body, the signature base64 in a header."""
    if not signature or not signature.strip():
        return "missing signature header"
    try:
        raw = base64.b64decode(signature.strip().encode(), validate=True)
    except (binascii.Error, ValueError):
        return "signature header is not base64"
    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadSecret("the pinned key is not an RSA public key")
    try:
        key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "signature does not match the body under the pinned key"
    return None


def same_token(expected: str, given: str) -> bool:
    """The URL secret, compared in constant time."""
    return hmac.compare_digest(expected.encode(), given.encode())
