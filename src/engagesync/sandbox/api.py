"""What an emulated API plugs into the sandbox engine.

The engine owns everything API-neutral (routing under a prefix, auth gate, rate limits, faults,
journal, webhooks, clock, tenants); an API subclass supplies its tables, routes, credential format,
error bodies, seeding and the credentials it hands out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from .ratelimit import RateLimit

if TYPE_CHECKING:
    from .context import SandboxContext


@dataclass(frozen=True)
class Tenant:
    id: int
    name: str
    seed: int


@dataclass(frozen=True)
class AuthResult:
    """Who is calling: the tenant whose data is visible and the key its rate window is kept under."""

    tenant_id: int
    rate_key: str
    credential: str | None = None


def sequences_ddl(table: str) -> str:
    """DDL of an API's counters table (``EmulatedApi.reserve``)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (tenant_id INTEGER NOT NULL, kind TEXT NOT NULL, "
        "value INTEGER NOT NULL, PRIMARY KEY (tenant_id, kind));\n"
    )


class EmulatedApi(ABC):
    id: ClassVar[str]
    prefix: ClassVar[str]
    title: ClassVar[str]
    default_rate_limit: ClassVar[RateLimit | None] = None
    #: DDL for the API's own tables; every table has a ``tenant_id`` column.
    ddl: ClassVar[str] = ""
    #: Tables cleared when a tenant is reset.
    tables: ClassVar[tuple[str, ...]] = ()
    #: The API's counters table (see ``reserve``; create it with ``sequences_ddl``), if it numbers things.
    sequences_table: ClassVar[str] = ""

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx

    def reserve(self, tenant_id: int, kind: str, count: int, start: int = 1) -> int:
        """Reserve ``count`` consecutive values of a per-tenant sequence (one, or a bulk seed's worth);
        return the first. Sequences live in the store, so numbering survives a ``--db`` restart."""
        table, store = self.sequences_table, self.ctx.store
        if not table:
            raise NotImplementedError(f"{type(self).__name__} declares no sequences_table")
        with store.tx():
            row = store.one(f"SELECT value FROM {table} WHERE tenant_id = ? AND kind = ?", (tenant_id, kind))
            first = start if row is None else int(row["value"]) + 1
            store.execute(
                f"INSERT INTO {table} (tenant_id, kind, value) VALUES (?, ?, ?) "
                "ON CONFLICT(tenant_id, kind) DO UPDATE SET value = excluded.value",
                (tenant_id, kind, first + count - 1),
            )
        return first

    @abstractmethod
    def routes(self) -> list[BaseRoute]:
        """Routes relative to ``prefix``."""

    def exception_handlers(self) -> dict[Any, Any]:
        """Vendor-shaped answers for unknown paths, wrong methods and crashes."""
        return {}

    def asgi_app(self) -> ASGIApp:
        return Starlette(routes=self.routes(), exception_handlers=self.exception_handlers())

    def admin_routes(self) -> list[BaseRoute]:
        """Extra admin routes, mounted at ``/_sandbox/<id>`` (e.g. UI-only actions)."""
        return []

    #: True for APIs whose operation is named in the body (GraphQL): the gate then reads the body
    #: once, asks ``operation_name`` and replays it, so the journal and fault rules see the operation.
    inspects_body: ClassVar[bool] = False

    def operation_name(self, subpath: str, body: bytes, query_string: str) -> str | None:
        """The operation a request runs (e.g. a GraphQL operation name), if the API can tell."""
        return None

    def is_public(self, request: Request) -> bool:
        """Paths that need no credential (public widget view, OAuth endpoints, schema docs)."""
        return False

    @abstractmethod
    def authenticate(self, request: Request) -> AuthResult | None:
        """Resolve the caller from the request; ``None`` means 401."""

    @abstractmethod
    def unauthorized(self, request: Request) -> Response:
        """The vendor's 401."""

    def error_body(self, status: int) -> tuple[bytes, str]:
        """The vendor's body for an injected error status: (bytes, content type)."""
        return b"", "application/json"

    @abstractmethod
    def provision(self, tenant: Tenant) -> None:
        """Create the tenant's credentials (deterministic from its seed)."""

    @abstractmethod
    def seed(self, tenant: Tenant, counts: dict[str, int]) -> None:
        """Fill the tenant's data deterministically from ``tenant.seed``; ``counts`` per resource."""

    @abstractmethod
    def credentials(self, tenant: Tenant, base_url: str) -> dict[str, Any]:
        """What a client needs to call this API as ``tenant`` (with a ``samples`` object)."""

    def tick(self, now: float) -> None:
        """Do the work that has fallen due on the virtual clock (scheduled sends, status changes).

        The engine calls it when the clock is moved, on a webhook flush and from the server's ticker,
        so timed behaviour happens without a request to the API itself."""
        return None

    def clear(self, tenant_id: int | None) -> None:
        """Delete the tenant's rows (or everyone's)."""
        for table in self.tables:
            if tenant_id is None:
                self.ctx.store.execute(f"DELETE FROM {table}")
            else:
                self.ctx.store.execute(f"DELETE FROM {table} WHERE tenant_id = ?", (tenant_id,))
