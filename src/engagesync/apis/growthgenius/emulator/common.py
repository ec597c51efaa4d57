"""Conventions every GrowthGenius resource shares: one error shape, bodies, ids, get/delete/window list.

GrowthGenius documents no errors (its ``_errors.md`` is Slate boilerplate), so the emulator answers
every error in one Rails-API shape (docs/fidelity.md): ``{"status": 422, "error": "<sentence>",
"errors": {"<field>": ["<reason>", ...]}}``; ``errors`` appears only when fields are at fault.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ....sandbox.forms import rails_form
from ..contract import WINDOW_LIMIT, Problem, parse_time, record_id

if TYPE_CHECKING:
    from . import GrowthGeniusApi


class GGError(Exception):
    def __init__(self, status: int, message: str, problems: Iterable[Problem] = ()) -> None:
        self.status = status
        self.message = message
        self.problems = list(problems)
        super().__init__(message)


class NotFound(GGError):
    def __init__(self, what: str, ref: Any) -> None:
        super().__init__(404, f"{what} {ref} not found")


class Invalid(GGError):
    """422 naming every field at fault."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        items = list(problems)
        super().__init__(422, "Validation failed: " + "; ".join(f"{f} {m}" for f, m in items), items)


def error_response(status: int, message: str, problems: Iterable[Problem] = ()) -> JSONResponse:
    body: dict[str, Any] = {"status": status, "error": message}
    grouped: dict[str, list[str]] = {}
    for field, reason in problems:
        grouped.setdefault(field, []).append(reason)
    if grouped:
        body["errors"] = grouped
    return JSONResponse(body, status_code=status)


def api_of(request: Request) -> GrowthGeniusApi:
    api: GrowthGeniusApi = request.app.state.growthgenius
    return api


def tenant_id(request: Request) -> int:
    return int(request.scope["state"]["tenant_id"])


def caller_id(request: Request) -> int | None:
    """The ``user_id`` query parameter (already checked against the key's team by the gate)."""
    raw = request.query_params.get("user_id")
    return None if raw is None else record_id(raw)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number out of range: {text}")
    return number


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


async def body(request: Request) -> dict[str, Any]:
    """The request's parameters as Rails merges them: the body (JSON, or a form with bracket keys such as
    ``contact[email]=``) with the query string's parameters over it (seed 003 lists create parameters
    under "Query Parameters"). The query's ``user_id`` names the caller, never a field of the record."""
    query = rails_form(request.url.query)
    query.pop("user_id", None)
    sent = await _body(request)
    return {**sent, **query} if query else sent


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    ctype = request.headers.get("content-type", "")
    if "json" in ctype or raw.lstrip()[:1] in (b"{", b"["):
        try:  # NaN, Infinity and 1e400 are refused here: no JSON answer could carry them back
            data = json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
        except ValueError as exc:  # also UnicodeDecodeError and Python's 4300-digit limit on integers
            raise GGError(400, f"Request body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise GGError(400, "Request body must be a JSON object")
        return data
    return rails_form(raw.decode("utf-8", "replace"))


def path_id(request: Request, what: str) -> int:
    raw = str(request.path_params["id"])
    number = record_id(raw)
    if number is None:  # not an id, or beyond any id (bigint): no such record
        raise NotFound(what, raw)
    return number


def window(request: Request, now_ms: int) -> tuple[float, float]:
    """The ``from``/``to`` bounds in epoch ms, both inclusive; ``from`` defaults to the epoch, ``to`` to now."""
    problems: list[Problem] = []
    bounds: list[float] = []
    for name, default in (("from", 0.0), ("to", float(now_ms))):
        raw = request.query_params.get(name)
        if raw is None or not raw.strip():
            bounds.append(default)
            continue
        parsed = parse_time(raw)
        if parsed is None:
            problems.append((name, f"must be an ISO-8601 date-time like 2021-01-19T17:06:25.730-05:00 (got {raw!r})"))
            bounds.append(default)
        else:
            bounds.append(parsed)
    if not problems and bounds[0] > bounds[1]:
        problems.append(("to", "must not be before from"))
    if problems:
        raise Invalid(problems)
    return bounds[0], bounds[1]


def window_limit(api: GrowthGeniusApi) -> int:
    return int(api.ctx.store.get_meta("growthgenius.window_limit", WINDOW_LIMIT))


@dataclass(frozen=True)
class Records:
    """A stored record kind (contacts, messages): read, delete and window-list work the same for both."""

    table: str  # gg_contacts
    what: str  # Contact (as errors name it)
    one: str  # contact (the envelope of one)
    many: str  # contacts (the envelope of a list)
    render: Callable[[sqlite3.Row], dict[str, Any]]

    def find(self, api: GrowthGeniusApi, tid: int, record_id: int) -> sqlite3.Row | None:
        return api.ctx.store.one(f"SELECT * FROM {self.table} WHERE tenant_id = ? AND id = ?", (tid, record_id))

    def existing(self, api: GrowthGeniusApi, tid: int, record_id: int) -> sqlite3.Row:
        row = self.find(api, tid, record_id)
        if row is None:
            raise NotFound(self.what, record_id)
        return row

    def answer(self, row: sqlite3.Row, status_code: int = 200) -> JSONResponse:
        return JSONResponse({self.one: self.render(row)}, status_code=status_code)

    async def get(self, request: Request) -> Response:
        api, tid = api_of(request), tenant_id(request)
        return self.answer(self.existing(api, tid, path_id(request, self.what)))

    async def delete(self, request: Request) -> Response:
        """200 with the record as it was; later a 404 (no tombstones: it leaves the windows too)."""
        api, tid = api_of(request), tenant_id(request)
        record_id = path_id(request, self.what)
        with api.ctx.store.tx():
            row = self.existing(api, tid, record_id)
            api.ctx.store.execute(f"DELETE FROM {self.table} WHERE tenant_id = ? AND id = ?", (tid, record_id))
        return self.answer(row)

    async def window_list(self, request: Request) -> Response:
        """Records with ``from <= updated_at <= to``, oldest first, at most the window limit."""
        api, tid = api_of(request), tenant_id(request)
        low, high = window(request, api.now_ms())
        rows = api.ctx.store.all(
            f"SELECT * FROM {self.table} WHERE tenant_id = ? AND updated_at >= ? AND updated_at <= ?"
            " ORDER BY updated_at, id LIMIT ?",
            (tid, low, high, window_limit(api)),
        )
        return JSONResponse({self.many: [self.render(r) for r in rows]})
