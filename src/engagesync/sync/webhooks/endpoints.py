"""Webhook endpoints: who may post to ``/hooks/<name>/<token>`` and how each is verified.

Kept in ``$ENGAGESYNC_HOME/webhooks.json`` (0600, atomic writes under a ``flock``, like connections.json)
rather than in the DuckDB store, because ``listen`` holds the store open: ``webhooks register`` must be
able to add an endpoint (and pin Volt's key) while the receiver runs, and the receiver re-reads the file
when it changes. Tokens, HMAC secrets and pinned keys are never printed, except a new URL once.
"""

from __future__ import annotations

import json
import os
import re
import secrets as _secrets
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...errors import UserError
from ..connections import file_lock, home

#: Schemes an endpoint can have; the first three are what connectors declare.
SCHEMES = ("standard", "rsa-sha256", "url-secret")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass
class Endpoint:
    name: str
    scheme: str
    #: The unguessable path segment (``/hooks/<name>/<token>``).
    token: str
    #: The connection it belongs to (its API's scheme), or ``None`` for a generic Standard Webhooks endpoint.
    connection: str | None = None
    api: str | None = None
    #: Standard Webhooks verification secrets (``whsec_``/``whpk_``); several during a rotation.
    secrets: list[str] = field(default_factory=list)
    #: The sender's public key (PEM), pinned at registration.
    public_key: str | None = None
    #: Webhooks created at the API for this endpoint: ``{"id", "event"}``.
    hooks: list[dict[str, str]] = field(default_factory=list)

    def path(self) -> str:
        return f"/hooks/{self.name}/{self.token}"

    def public(self) -> dict[str, Any]:
        """What listings show: the secret parts masked."""
        return {
            "name": self.name,
            "scheme": self.scheme,
            "connection": self.connection,
            "api": self.api,
            "path": f"/hooks/{self.name}/***",
            "secrets": len(self.secrets),
            "public_key_pinned": self.public_key is not None,
            "hooks": self.hooks,
        }


def new_token() -> str:
    return _secrets.token_urlsafe(32)


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(f"endpoint name {name!r} must be letters, digits, '_', '.' or '-' (at most 64)")
    return name


class EndpointFile:
    """The endpoints file; ``current()`` re-reads it only when it changed (the receiver calls it per request)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home() / "webhooks.json"
        self._stamp: tuple[int, int] | None = None
        self._cache: dict[str, Endpoint] = {}

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock")

    def _read(self) -> dict[str, Endpoint]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
            return {name: Endpoint(**spec) for name, spec in data["endpoints"].items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(
                f"{self.path}: not a webhooks file engagesync wrote ({type(exc).__name__}); "
                "move it aside and register the endpoints again"
            ) from None

    def current(self) -> dict[str, Endpoint]:
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._cache, self._stamp = self._read(), stamp
        return self._cache

    def get(self, name: str) -> Endpoint | None:
        return self._read().get(name)

    def put(self, endpoint: Endpoint) -> None:
        with file_lock(self.lock_path):
            found = self._read()
            found[endpoint.name] = endpoint
            self._save(found)

    def remove(self, name: str) -> bool:
        with file_lock(self.lock_path):
            found = self._read()
            gone = found.pop(name, None) is not None
            if gone:
                self._save(found)
            return gone

    def _save(self, endpoints: dict[str, Endpoint]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".webhooks.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"endpoints": {n: asdict(e) for n, e in sorted(endpoints.items())}}, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
