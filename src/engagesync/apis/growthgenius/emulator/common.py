"""Conventions every GrowthGenius resource shares: one error shape, bodies, ids, the window list.

GrowthGenius documents no errors (its ``_errors.md`` is Slate boilerplate), so the emulator answers
every error in one Rails-API shape (docs/fidelity.md): ``{"status": 422, "error": "<sentence>",
"errors": {"<field>": ["<reason>", ...]}}``; ``errors`` appears only when fields are at fault.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..contract import WINDOW_LIMIT, Problem, parse_time

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
    raw = request.query_params.get("user_id", "").strip()
    return int(raw) if raw.isdigit() else None


async def body(request: Request) -> dict[str, Any]:
    """A JSON object, or a form body with Rails bracket keys (``contact[email]=``)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    ctype = request.headers.get("content-type", "")
    if "json" in ctype or raw.lstrip()[:1] in (b"{", b"["):
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise GGError(400, f"Request body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise GGError(400, "Request body must be a JSON object")
        return data
    out: dict[str, Any] = {}
    for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
        if "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            nested = out.setdefault(outer, {})
            if isinstance(nested, dict):
                nested[inner] = value
        else:
            out[key] = value
    return out


def path_id(request: Request, what: str) -> int:
    raw = str(request.path_params["id"])
    if not raw.isdigit():
        raise NotFound(what, raw)
    return int(raw)


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
