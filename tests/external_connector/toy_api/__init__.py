"""A toy API from outside engagesync: notes, paged by ``page``, behind a bearer token.

- emulator ``ToyApi``: ``GET /toy/v1/notes?page=N`` -> ``{"notes": [...], "next_page": N+1 | null}``;
- connector ``CONNECTOR``: one stream, ``notes``, resumable by page.

Only engagesync's public surfaces are used: ``engagesync.sandbox`` and ``engagesync.client.*``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engagesync.client.auth import BearerToken
from engagesync.client.budget import RateBudget
from engagesync.client.connector import Connector, SandboxLink, Setting
from engagesync.client.http import ApiClient
from engagesync.client.streams import Page, StreamSpec
from engagesync.sandbox import AuthResult, EmulatedApi
from engagesync.sandbox.api import Tenant

PAGE_SIZE = 10


class ToyApi(EmulatedApi):
    id = "toy"
    prefix = "/toy/v1"
    title = "Toy (an API from another package)"
    ddl = "CREATE TABLE IF NOT EXISTS toy_notes (tenant_id INTEGER NOT NULL, id INTEGER NOT NULL, text TEXT);"
    tables: ClassVar[tuple[str, ...]] = ("toy_notes",)

    def routes(self) -> list[BaseRoute]:
        return [Route("/notes", self.notes, methods=["GET"])]

    async def notes(self, request: Request) -> Response:
        page = max(1, int(request.query_params.get("page", "1")))
        rows = self.ctx.store.all(
            "SELECT id, text FROM toy_notes WHERE tenant_id = ? ORDER BY id LIMIT ? OFFSET ?",
            (request.scope["state"]["tenant_id"], PAGE_SIZE + 1, (page - 1) * PAGE_SIZE),
        )
        notes = [{"id": r["id"], "text": r["text"]} for r in rows[:PAGE_SIZE]]
        return JSONResponse({"notes": notes, "next_page": page + 1 if len(rows) > PAGE_SIZE else None})

    def authenticate(self, request: Request) -> AuthResult | None:
        header = request.headers.get("authorization", "")
        cred = self.ctx.find_credential(self.id, header.removeprefix("Bearer ").strip() or None)
        return None if cred is None else AuthResult(cred.tenant_id, rate_key=cred.secret, credential=cred.secret)

    def unauthorized(self, request: Request) -> Response:
        return JSONResponse({"error": "unauthorized"}, status_code=401)

    def provision(self, tenant: Tenant) -> None:
        secret = self.ctx.derive_secret(self.id, tenant.name, tenant.seed)
        self.ctx.issue_credential(self.id, tenant.id, "token", secret)

    def seed(self, tenant: Tenant, counts: dict[str, int]) -> None:
        rows = [(tenant.id, i, f"note {i} of tenant {tenant.name}") for i in range(1, counts.get("notes", 25) + 1)]
        self.ctx.store.executemany("INSERT INTO toy_notes (tenant_id, id, text) VALUES (?, ?, ?)", rows)

    def credentials(self, tenant: Tenant, base_url: str) -> dict[str, Any]:
        token = self.ctx.credentials_of(self.id, tenant.id, "token")[0].secret
        return {"base_url": f"{base_url}{self.prefix}", "token": token, "samples": {}}


class NotesStream:
    spec = StreamSpec("notes", ("id",), {"id": "BIGINT", "text": "VARCHAR"}, "Every note, page by page")

    def pages(self, client: ApiClient, state: dict[str, Any] | None) -> Iterator[Page]:
        page = int((state or {}).get("page", 1))
        while True:
            body = client.get_json("notes", params={"page": page})
            nxt = body.get("next_page")
            yield Page(body["notes"], {"page": nxt} if nxt else None)
            if not nxt:
                return
            page = int(nxt)


def make_client(base_url: str, **kwargs: Any) -> ApiClient:
    token = kwargs.pop("token")
    window = float(kwargs.pop("window_seconds", 60.0))
    budget = RateBudget(window_seconds=window, on_wait=kwargs.pop("on_wait", None))
    return ApiClient(base_url, auth=BearerToken(token), budget=budget, **kwargs)


def check(client: ApiClient) -> dict[str, Any]:
    return {"ok": True, "notes_on_first_page": len(client.get_json("notes")["notes"])}


class ToyConnector(Connector):
    api = "toy"
    settings = (Setting("token", secret=True, required=True, description="toy API token"),)

    def from_sandbox(self, creds: Mapping[str, Any], transport: httpx.BaseTransport | None = None) -> SandboxLink:
        return SandboxLink(creds["base_url"], {"token": creds["token"]})


CONNECTOR = ToyConnector(
    make_client=make_client, streams=lambda **settings: {"notes": NotesStream()}, actions=dict, check=check
)
