"""The one helper behind categories and articles: resources that live inside a knowledge base.

Both are listed and searched the same way (position order, ``state`` and id filters, keyword terms
that must all appear), created with the same defaults (the owner as author, "draft", the next
position) and updated the same way; a ``Child`` holds only what differs between them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..contract import unwrap
from . import common
from .common import MISSING, Problems
from .kb_fields import default_author, keyword_and_state, next_position
from .kb_store import insert_row, load_kb, update_row

if TYPE_CHECKING:
    from . import GrooveHelpdeskApi

#: (values to write, extra) from a request body; ``row`` is None on create. ``extra`` is what the
#: resource applies after writing (a category's article ids), None when there is nothing to apply.
Reader = Callable[
    ["GrooveHelpdeskApi", int, Problems, str, dict[str, Any], sqlite3.Row | None], tuple[dict[str, Any], Any]
]
Renderer = Callable[["GrooveHelpdeskApi", int, list[sqlite3.Row]], list[dict[str, Any]]]
#: (api, tenant, kb_id, row id, extra, now): apply ``extra`` after a create or update.
AfterWrite = Callable[["GrooveHelpdeskApi", int, str, str, Any, float], None]


@dataclass(frozen=True)
class Child:
    table: str
    key: str  #: the one-item envelope ("category"), also ``{key}_id`` in paths
    plural: str  #: the list envelope and the path segment ("categories")
    what: str  #: how a 404 names it ("Category")
    id_kind: str  #: the id sequence kind ("kb_category")
    live: str  #: SQL that keeps only rows that still exist ("" or " AND deleted_at IS NULL")
    filters: tuple[str, ...]  #: query parameters that filter a list by equal column
    read: Reader
    render: Renderer
    searchable: Callable[[sqlite3.Row], str]  #: the text keyword terms are looked for in
    after_write: AfterWrite | None = None

    # -- storage -------------------------------------------------------------------------------
    def load(self, api: GrooveHelpdeskApi, tenant: int, kb_id: str, row_id: str) -> sqlite3.Row:
        return common.one_or_404(
            api,
            self.what,
            f"SELECT * FROM {self.table} WHERE tenant_id = ? AND kb_id = ? AND id = ?{self.live}",
            tenant,
            kb_id,
            row_id,
        )

    def one(self, api: GrooveHelpdeskApi, tenant: int, kb_id: str, row_id: str) -> dict[str, Any]:
        return {self.key: self.render(api, tenant, [self.load(api, tenant, kb_id, row_id)])[0]}

    def _ids(self, request: Request) -> tuple[str, str]:
        return request.path_params["kb_id"], request.path_params[f"{self.key}_id"]

    # -- endpoints -----------------------------------------------------------------------------
    async def query(self, request: Request, *, keyword_required: bool) -> Response:
        api, tenant = common.api_of(request), common.tenant_id(request)
        kb_id = request.path_params["kb_id"]
        load_kb(api, tenant, kb_id)
        page, per_page = common.page_window(request)
        keyword, state = keyword_and_state(request, keyword_required)
        sql = f"SELECT * FROM {self.table} WHERE tenant_id = ? AND kb_id = ?{self.live}"
        args: list[Any] = [tenant, kb_id]
        for column, value in (("state", state), *((c, request.query_params.get(c, MISSING)) for c in self.filters)):
            if value is not MISSING and value != "":
                sql, args = sql + f" AND {column} = ?", [*args, value]
        rows = api.ctx.store.all(sql + " ORDER BY position, rowid", args)
        if keyword and keyword != "*":
            terms = common.fold(keyword).split()
            rows = [r for r in rows if all(t in common.fold(self.searchable(r)) for t in terms)]
        window = rows[(page - 1) * per_page : page * per_page]
        return JSONResponse(
            {
                self.plural: self.render(api, tenant, window),
                "meta": common.pagination(request, page, per_page, len(rows)),
            }
        )

    async def list_all(self, request: Request) -> Response:
        return await self.query(request, keyword_required=False)

    async def search(self, request: Request) -> Response:
        return await self.query(request, keyword_required=True)

    async def create(self, request: Request) -> Response:
        api, tenant = common.api_of(request), common.tenant_id(request)
        kb_id = request.path_params["kb_id"]
        body = unwrap(await common.params(request), self.key)
        with api.ctx.store.tx():
            load_kb(api, tenant, kb_id)
            problems = Problems()
            values, extra = self.read(api, tenant, problems, kb_id, body, None)
            problems.raise_if_any()
            row_id = api.new_id(tenant, self.id_kind)
            now = api.now()
            values.setdefault("author_id", default_author(api, tenant))
            values.setdefault("state", "draft")
            insert_row(
                api,
                self.table,
                {
                    **values,
                    "tenant_id": tenant,
                    "id": row_id,
                    "kb_id": kb_id,
                    "position": next_position(api, self.table, tenant, kb_id),
                    "created_at": now,
                    "updated_at": now,
                },
            )
            if extra is not None and self.after_write is not None:
                self.after_write(api, tenant, kb_id, row_id, extra, now)
            out = self.one(api, tenant, kb_id, row_id)
        return common.created(out, common.href(request, "kb", kb_id, self.plural, row_id))

    async def get(self, request: Request) -> Response:
        api, tenant = common.api_of(request), common.tenant_id(request)
        kb_id, row_id = self._ids(request)
        load_kb(api, tenant, kb_id)
        return JSONResponse(self.one(api, tenant, kb_id, row_id))

    async def update(self, request: Request) -> Response:
        api, tenant = common.api_of(request), common.tenant_id(request)
        kb_id, row_id = self._ids(request)
        body = unwrap(await common.params(request), self.key)
        with api.ctx.store.tx():
            load_kb(api, tenant, kb_id)
            row = self.load(api, tenant, kb_id, row_id)
            problems = Problems()
            values, extra = self.read(api, tenant, problems, kb_id, body, row)
            problems.raise_if_any()
            now = api.now()
            if values or extra is not None:
                update_row(api, self.table, tenant, row_id, {**values, "updated_at": now})
            if extra is not None and self.after_write is not None:
                self.after_write(api, tenant, kb_id, row_id, extra, now)
            out = self.one(api, tenant, kb_id, row_id)
        return JSONResponse(out)

    def routes(self, delete: Callable[[Request], Awaitable[Response]]) -> list[BaseRoute]:
        base = f"/kb/{{kb_id}}/{self.plural}"
        one = f"{base}/{{{self.key}_id}}"
        return [
            Route(base, self.list_all, methods=["GET"]),
            Route(base, self.create, methods=["POST"]),
            Route(f"{base}/search", self.search, methods=["GET"]),
            Route(one, self.get, methods=["GET"]),
            Route(one, self.update, methods=["PUT", "PATCH"]),
            Route(one, delete, methods=["DELETE"]),
        ]
