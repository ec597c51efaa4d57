"""Named connections: which API, where, and with which credential, stored 0600.

The file lives at ``$ENGAGESYNC_HOME/connections.json`` (default ``~/.config/engagesync``). Writes are
atomic (temp file + rename) so a crash never leaves a half-written credential file, and the file is
created with mode 0600 before any secret is written to it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConnectionError_(KeyError):
    """A named connection that does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "connection error"


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


class ConnectionStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or home() / "connections.json"

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"connections": {}}
        data: dict[str, Any] = json.loads(self.path.read_text())
        data.setdefault("connections", {})
        return data

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
        return [Connection(name, **spec) for name, spec in sorted(self._load()["connections"].items())]

    def get(self, name: str) -> Connection:
        spec = self._load()["connections"].get(name)
        if spec is None:
            known = ", ".join(c.name for c in self.all()) or "none yet"
            raise ConnectionError_(
                f"no connection named {name!r} (known: {known}); create one with `engagesync connect`"
            )
        return Connection(name, **spec)

    def put(self, connection: Connection) -> None:
        data = self._load()
        data["connections"][connection.name] = connection.to_dict()
        self._save(data)

    def update_secrets(self, name: str, secrets: dict[str, str]) -> None:
        """Persist rotated credentials (e.g. OAuth refresh tokens) atomically."""
        data = self._load()
        data["connections"][name]["secrets"].update(secrets)
        self._save(data)

    def remove(self, name: str) -> bool:
        data = self._load()
        found = data["connections"].pop(name, None) is not None
        if found:
            self._save(data)
        return found
