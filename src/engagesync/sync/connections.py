"""Named connections: which API, where, and with which credential, stored 0600.

The file lives at ``$ENGAGESYNC_HOME/connections.json`` (default ``~/.config/engagesync``). Writes are
atomic (temp file + rename) so a crash never leaves a half-written credential file, the file is
created with mode 0600 before any secret is written to it, and every read-modify-write holds an
exclusive ``flock`` on a sidecar lock file, so processes sharing the file never lose each other's
writes. An OAuth refresh holds a second, per-connection lock (``ConnectionTokens``) for its whole
round trip. A file that is not what engagesync wrote raises ``ConnectionFileError`` naming the file,
the connection and the field.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..apis import registry
from ..client.oauth import TokenStore

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process locking
    fcntl = None  # type: ignore[assignment]

#: The keys a connection entry has; any other is a tampered file.
FIELDS = ("api", "base_url", "secrets", "settings")
#: A connection's secrets hold at least one of these (the credential itself).
CREDENTIAL_KEYS = ("token", "access_token", "api_key")


class ConnectionError_(KeyError):
    """A named connection that does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "connection error"


class ConnectionFileError(ValueError):
    """The connections file is not what engagesync wrote (bad JSON, a missing or unknown field...)."""


def home() -> Path:
    return Path(os.environ.get("ENGAGESYNC_HOME") or Path.home() / ".config" / "engagesync")


@dataclass
class Connection:
    name: str
    api: str
    base_url: str
    #: Credential material (tokens, keys, client secrets); never printed.
    secrets: dict[str, str] = field(default_factory=dict)
    #: Everything else (user_id, window_seconds, redirect_uri...).
    settings: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """What listings and ``--json`` show: secrets reduced to their names."""
        return {
            "name": self.name,
            "api": self.api,
            "base_url": self.base_url,
            "secrets": {k: "***" for k in self.secrets},
            "settings": self.settings,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"api": self.api, "base_url": self.base_url, "secrets": self.secrets, "settings": self.settings}


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created 0600) for the block; processes queue on it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


class ConnectionStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home() / "connections.json"

    def _fault(self, what: str, name: str | None = None) -> ConnectionFileError:
        where = f"{self.path}: connection {name!r}: " if name is not None else f"{self.path}: "
        return ConnectionFileError(
            f"{where}{what}; run `engagesync connect` again to recreate it (or restore the file from a backup)"
        )

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"connections": {}}
        try:
            data = json.loads(self.path.read_text())
        except UnicodeDecodeError:
            raise self._fault("the file is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise self._fault(f"the file is not valid JSON ({exc.msg}, line {exc.lineno})") from None
        except OSError as exc:
            raise self._fault(f"the file cannot be read ({exc.strerror})") from None
        if not isinstance(data, dict):
            raise self._fault(f"the file holds a JSON {_kind(data)}, not an object with 'connections'")
        data.setdefault("connections", {})
        extra = sorted(set(data) - {"connections"})
        if extra:
            raise self._fault(f"unknown top-level field {extra[0]!r}")
        if not isinstance(data["connections"], dict):
            raise self._fault(f"'connections' is a JSON {_kind(data['connections'])}, not an object")
        return data

    def _entry(self, name: str, spec: Any) -> Connection:
        """One connection entry, checked field by field."""
        if not isinstance(spec, dict):
            raise self._fault(f"the entry is a JSON {_kind(spec)}, not an object", name)
        extra = sorted(set(spec) - set(FIELDS))
        if extra:
            raise self._fault(f"unknown field {extra[0]!r}", name)
        for key in ("api", "base_url"):
            if not isinstance(spec.get(key), str) or not spec[key].strip():
                raise self._fault(f"field {key!r} is missing or not a string", name)
        if spec["api"] not in registry.api_ids():
            raise self._fault(f"field 'api' names an unknown API {spec['api']!r}", name)
        secrets = spec.get("secrets", {})
        if not isinstance(secrets, dict) or not all(isinstance(v, str) for v in secrets.values()):
            raise self._fault("field 'secrets' must be an object of strings", name)
        if not any(secrets.get(k) for k in CREDENTIAL_KEYS):
            raise self._fault(f"field 'secrets' holds no token ({' or '.join(CREDENTIAL_KEYS)})", name)
        settings = spec.get("settings", {})
        if not isinstance(settings, dict):
            raise self._fault("field 'settings' must be an object", name)
        return Connection(name, spec["api"], spec["base_url"], dict(secrets), dict(settings))

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock")

    def connection_lock_path(self, name: str) -> Path:
        """The lock a refresh of connection ``name`` holds (name made file-safe, hashed against clashes)."""
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40]
        return self.path.with_name(f".{self.path.stem}.{safe}.{hashlib.sha256(name.encode()).hexdigest()[:8]}.lock")

    def _save(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".connections.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, indent=2, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def all(self) -> list[Connection]:
        return [self._entry(name, spec) for name, spec in sorted(self._load()["connections"].items())]

    def get(self, name: str) -> Connection:
        connections = self._load()["connections"]
        if name not in connections:
            known = ", ".join(sorted(connections)) or "none yet"
            raise ConnectionError_(
                f"no connection named {name!r} (known: {known}); create one with `engagesync connect`"
            )
        return self._entry(name, connections[name])

    def put(self, connection: Connection) -> None:
        """Save a connection; one whose API no installed connector knows is refused (nothing written), since
        every later read of the file would refuse it."""
        if connection.api not in registry.api_ids():
            raise ConnectionError_(
                f"unknown API {connection.api!r} for connection {connection.name!r} (known: "
                f"{', '.join(registry.api_ids())}); nothing was saved"
            )
        with file_lock(self.lock_path):
            data = self._load()
            data["connections"][connection.name] = connection.to_dict()
            self._save(data)

    def update_secrets(self, name: str, secrets: dict[str, str]) -> None:
        """Persist rotated credentials (e.g. OAuth refresh tokens) atomically."""
        with file_lock(self.lock_path):
            data = self._load()
            if name not in data["connections"]:
                raise ConnectionError_(f"no connection named {name!r}")
            self._entry(name, data["connections"][name])  # a tampered entry is not written over
            data["connections"][name].setdefault("secrets", {}).update(secrets)
            self._save(data)

    def remove(self, name: str) -> bool:
        with file_lock(self.lock_path):
            data = self._load()
            found = data["connections"].pop(name, None) is not None
            if found:
                self._save(data)
            return found


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


class ConnectionTokens(TokenStore):
    """A connection's OAuth tokens in the connections file, shared with other engagesync processes:
    refreshes lock the connection, and rotated pairs go into the file and into ``connection``."""

    def __init__(self, connection: Connection, store: ConnectionStore) -> None:
        self.connection = connection
        self.store = store

    def _saved(self) -> bool:
        return self.store.path.exists() and self.connection.name in self.store._load()["connections"]

    def locked(self) -> contextlib.AbstractContextManager[object]:
        if not self._saved():  # a connection never saved (demo, tests): nothing to share
            return contextlib.nullcontext()
        return file_lock(self.store.connection_lock_path(self.connection.name))

    def load(self) -> dict[str, str] | None:
        if not self._saved():
            return None
        return self.store.get(self.connection.name).secrets

    def save(self, secrets: dict[str, str]) -> None:
        self.connection.secrets.update(secrets)
        with contextlib.suppress(ConnectionError_):  # a connection never saved has no file entry
            self.store.update_secrets(self.connection.name, secrets)
