"""The sandbox's shared state: one object that every emulated API and the admin API read.

Both modes (uvicorn server and in-process ASGI) hold the same ``SandboxContext``, so a test can
drive the API in-process and inspect or steer the same state through the admin API.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .api import EmulatedApi, Tenant
from .clock import VirtualClock
from .faults import FaultBook
from .journal import Journal
from .ratelimit import RateLimit, SlidingWindowLimiter
from .store import SandboxDB
from .webhooks import Outbox

if TYPE_CHECKING:
    from starlette.types import ASGIApp

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class IssuedCredential:
    api: str
    secret: str
    tenant_id: int
    kind: str
    expires_at: float | None
    revoked: bool
    data: dict[str, Any]


class SandboxContext:
    def __init__(
        self,
        db_path: str | None = None,
        seed: int = 0,
        api_factories: Iterable[Callable[[SandboxContext], EmulatedApi]] = (),
    ) -> None:
        self.store = SandboxDB(db_path)
        self.clock = VirtualClock(
            offset=float(self.store.get_meta("clock_offset", 0.0)), frozen_at=self.store.get_meta("clock_frozen_at")
        )
        self.clock.on_change(self._persist_clock)
        self.limiter = SlidingWindowLimiter()
        self.faults = FaultBook()
        self.journal = Journal()
        self.outbox = Outbox(self)
        self.asgi_app: ASGIApp | None = None
        #: Mixed into every derived secret once ``randomize_credentials`` ran (empty: deterministic).
        self.secret_salt = ""
        self.apis: dict[str, EmulatedApi] = {}
        for factory in api_factories:
            api = factory(self)
            self.apis[api.id] = api
            if api.ddl:
                self.store.executescript(api.ddl)
        self._rate_limits: dict[str, RateLimit | None] = {
            api_id: api.default_rate_limit for api_id, api in self.apis.items()
        }
        self._credential_limits: dict[tuple[str, str], RateLimit | None] = {}
        self._load_rate_limits()
        if self.store.scalar("SELECT COUNT(*) FROM tenants") == 0:
            self.reset(seed=seed)

    def tick(self) -> None:
        """Let every API do what is due at the clock's current time (see ``EmulatedApi.tick``)."""
        now = self.clock.now()
        for api in self.apis.values():
            api.tick(now)

    # -- clock persistence -----------------------------------------------------------------------
    def _persist_clock(self) -> None:
        self.store.set_meta("clock_offset", self.clock.offset)
        self.store.set_meta("clock_frozen_at", self.clock.now() if self.clock.frozen else None)

    def persist_clock(self) -> None:
        self._persist_clock()

    # -- tenants ---------------------------------------------------------------------------------
    def tenants(self) -> list[Tenant]:
        return [Tenant(r["id"], r["name"], r["seed"]) for r in self.store.all("SELECT * FROM tenants ORDER BY id")]

    def tenant(self, ref: int | str | None = None) -> Tenant | None:
        if ref is None or ref == "":
            ref = DEFAULT_TENANT
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            row = self.store.one("SELECT * FROM tenants WHERE id = ?", (int(ref),))
        else:
            row = self.store.one("SELECT * FROM tenants WHERE name = ?", (ref,))
        return Tenant(row["id"], row["name"], row["seed"]) if row else None

    def check_counts(self, counts: dict[str, int] | None) -> None:
        unknown = [k for k in (counts or {}) if k.split(".", 1)[0] not in self.apis or "." not in k]
        if unknown:
            raise ValueError(
                f"unknown count key(s) {', '.join(sorted(unknown))}: use '<api>.<resource>' "
                f"with an API among {', '.join(self.apis)}"
            )

    def create_tenant(self, name: str | None = None, seed: int = 0, counts: dict[str, int] | None = None) -> Tenant:
        self.check_counts(counts)
        with self.store.tx():
            if name is None:
                n = int(self.store.scalar("SELECT COALESCE(MAX(id), 0) FROM tenants")) + 1
                name = f"tenant-{n}"
            cur = self.store.execute(
                "INSERT INTO tenants (name, seed, created_at) VALUES (?, ?, ?)", (name, seed, self.clock.now())
            )
            tenant = Tenant(int(cur.lastrowid or 0), name, seed)
            self._populate(tenant, counts or {})
        return tenant

    def _populate(self, tenant: Tenant, counts: dict[str, int]) -> None:
        for api in self.apis.values():
            api.provision(tenant)
            own = {
                key.split(".", 1)[1]: int(v)
                for key, v in counts.items()
                if key.split(".", 1)[0] == api.id and "." in key
            }
            api.seed(tenant, own)

    def reset(self, seed: int = 0, counts: dict[str, int] | None = None, tenant: Tenant | None = None) -> Tenant:
        """Fresh deterministic data: everything (default), or just one tenant's."""
        self.check_counts(counts)
        with self.store.tx():
            if tenant is None:
                for api in self.apis.values():
                    api.clear(None)
                for table in ("tenants", "credentials", "webhook_deliveries", "webhook_attempts", "sandbox_sink"):
                    self.store.execute(f"DELETE FROM {table}")
                cur = self.store.execute(
                    "INSERT INTO tenants (name, seed, created_at) VALUES (?, ?, ?)",
                    (DEFAULT_TENANT, seed, self.clock.now()),
                )
                target = Tenant(int(cur.lastrowid or 0), DEFAULT_TENANT, seed)
            else:
                for api in self.apis.values():
                    api.clear(tenant.id)
                self.store.execute("DELETE FROM credentials WHERE tenant_id = ?", (tenant.id,))
                self.store.execute("UPDATE tenants SET seed = ? WHERE id = ?", (seed, tenant.id))
                target = Tenant(tenant.id, tenant.name, seed)
            self._populate(target, counts or {})
        if tenant is None:  # only once the new data committed: a refused reset changes nothing
            self.limiter.reset()
            self.faults.clear()
            self.journal.clear()
        return target

    # -- credentials -----------------------------------------------------------------------------
    def derive_secret(self, *parts: object, length: int = 32) -> str:
        """Deterministic secret material: same seed, same credentials (unless salted, see below)."""
        salted = (self.secret_salt, *parts) if self.secret_salt else parts
        return hashlib.sha256(":".join(str(p) for p in salted).encode()).hexdigest()[:length]

    def randomize_credentials(self) -> None:
        """Replace every tenant's credentials (API keys, tokens, OAuth clients and grants) with random ones.

        Seeded credentials are the same on every install, so a server reachable beyond loopback must not
        accept them; tenants created and resets made afterwards draw random credentials too."""
        self.secret_salt = secrets.token_hex(16)
        with self.store.tx():
            self.store.execute("DELETE FROM credentials")
            for tenant in self.tenants():
                for api in self.apis.values():
                    api.provision(tenant)

    def issue_credential(
        self,
        api: str,
        tenant_id: int,
        kind: str,
        secret: str,
        expires_at: float | None = None,
        data: dict[str, Any] | None = None,
    ) -> IssuedCredential:
        self.store.execute(
            "INSERT INTO credentials (api, secret, tenant_id, kind, expires_at, revoked, data) "
            "VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT(api, secret) DO UPDATE SET tenant_id = excluded.tenant_id,"
            " kind = excluded.kind, expires_at = excluded.expires_at, revoked = 0, data = excluded.data",
            (api, secret, tenant_id, kind, expires_at, json.dumps(data or {})),
        )
        return IssuedCredential(api, secret, tenant_id, kind, expires_at, False, data or {})

    def find_credential(
        self, api: str, secret: str | None, kind: str | None = None, include_inactive: bool = False
    ) -> IssuedCredential | None:
        """A live credential (not revoked, not expired on the virtual clock), or ``None``."""
        if not secret:
            return None
        row = self.store.one("SELECT * FROM credentials WHERE api = ? AND secret = ?", (api, secret))
        if row is None or (kind is not None and row["kind"] != kind):
            return None
        cred = IssuedCredential(
            row["api"],
            row["secret"],
            row["tenant_id"],
            row["kind"],
            row["expires_at"],
            bool(row["revoked"]),
            json.loads(row["data"]),
        )
        if include_inactive:
            return cred
        if cred.revoked or (cred.expires_at is not None and cred.expires_at <= self.clock.now()):
            return None
        return cred

    def credentials_of(self, api: str, tenant_id: int, kind: str) -> list[IssuedCredential]:
        rows = self.store.all(
            "SELECT * FROM credentials WHERE api = ? AND tenant_id = ? AND kind = ? AND revoked = 0 ORDER BY rowid",
            (api, tenant_id, kind),
        )
        return [
            IssuedCredential(
                r["api"], r["secret"], r["tenant_id"], r["kind"], r["expires_at"], False, json.loads(r["data"])
            )
            for r in rows
        ]

    def revoke_credential(self, api: str, secret: str) -> None:
        self.store.execute("UPDATE credentials SET revoked = 1 WHERE api = ? AND secret = ?", (api, secret))

    # -- rate limits -----------------------------------------------------------------------------
    def rate_limit_for(self, api: str, credential: str | None) -> RateLimit | None:
        if credential is not None and (api, credential) in self._credential_limits:
            return self._credential_limits[(api, credential)]
        return self._rate_limits.get(api)

    def set_rate_limit(self, api: str, rule: RateLimit | None, credential: str | None = None) -> None:
        if credential is None:
            self._rate_limits[api] = rule
        else:
            self._credential_limits[(api, credential)] = rule
        self._save_rate_limits()

    def rate_limits(self) -> dict[str, Any]:
        return {
            api: {
                "default": rule.to_dict() if rule else None,
                "credentials": {
                    f"{cred[:4]}…": (r.to_dict() if r else None)
                    for (a, cred), r in self._credential_limits.items()
                    if a == api
                },
            }
            for api, rule in self._rate_limits.items()
        }

    def _save_rate_limits(self) -> None:
        def dump(rule: RateLimit | None) -> Any:
            return rule.to_dict() if rule else None

        self.store.set_meta(
            "rate_limits",
            {
                "apis": {k: dump(v) for k, v in self._rate_limits.items()},
                "credentials": [[a, c, dump(r)] for (a, c), r in self._credential_limits.items()],
            },
        )

    def _load_rate_limits(self) -> None:
        saved = self.store.get_meta("rate_limits")
        if not saved:
            return

        def load(value: Any) -> RateLimit | None:
            return RateLimit(int(value["limit"]), float(value["window_seconds"])) if value else None

        for api, value in saved.get("apis", {}).items():
            if api in self._rate_limits:
                self._rate_limits[api] = load(value)
        for api, cred, value in saved.get("credentials", []):
            self._credential_limits[(api, cred)] = load(value)
