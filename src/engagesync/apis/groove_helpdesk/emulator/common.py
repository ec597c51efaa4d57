"""Conventions every Groove helpdesk resource shares: envelopes, hrefs, errors, paging, params."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ....sandbox.forms import rails_form, rails_pairs
from ..contract import DEFAULT_PER_PAGE, MAX_PER_PAGE
from ..contract.fields import NAME_MAX

if TYPE_CHECKING:
    import sqlite3

    from . import GrooveHelpdeskApi

Handler = Callable[[Request], Awaitable[Response]]


# -- errors (Rails style: {"errors": ["<Field> <message>", ...]}; see docs/fidelity.md) -----------
class GrooveError(Exception):
    def __init__(self, status: int, messages: Iterable[str]) -> None:
        self.status = status
        self.messages = list(messages)
        super().__init__("; ".join(self.messages))


class NotFound(GrooveError):
    def __init__(self, what: str) -> None:
        super().__init__(404, [f"{what} not found"])


class Invalid(GrooveError):
    """422 with every problem found, each naming its field."""

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__(422, [f"{field} {message}" for field, message in self.problems])


class Problems:
    """Collects validation problems so one response names all of them."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.items.append((field, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise Invalid(self.items)


def error_response(status: int, messages: Iterable[str]) -> JSONResponse:
    return JSONResponse({"errors": list(messages)}, status_code=status)


# -- case folding: one fold for names, emails and tags, in Python and in SQL ------------------------
#: The SQL name of ``fold`` (registered on the store's connection by ``GrooveHelpdeskApi``).
SQL_FOLD = "gh_fold"


def fold(text: str) -> str:
    """The one case fold for every case-insensitive comparison (tags, group names, emails).

    SQLite's ``lower()`` folds ASCII only, so "Élan" and "élan" differed in SQL but not in Python;
    SQL compares through ``gh_fold`` (this function) instead. ``str.lower`` rather than ``casefold``
    matches Rails ``downcase`` and Postgres ``lower()`` (docs/fidelity.md).
    """
    return text.lower()


def sql_fold(value: str | float | None) -> str | float | None:
    """``gh_fold(x)`` in SQL: ``fold`` for text, anything else (NULL, numbers) unchanged."""
    return fold(value) if isinstance(value, str) else value


def register_fold(conn: sqlite3.Connection) -> None:
    conn.create_function(SQL_FOLD, 1, sql_fold, deterministic=True)


def invalid_text(value: Any, path: str = "") -> str | None:
    """The field path of the first string (key or value) that is not valid Unicode text, if any.

    JSON's ``\\ud800`` escapes decode to lone surrogates, which SQLite cannot store (a 500 otherwise).
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}[{key}]" if path else str(key)
            if (bad := invalid_text(key, inner) or invalid_text(item, inner)) is not None:
                return bad
    elif isinstance(value, list):
        for item in value:
            if (bad := invalid_text(item, f"{path}[]")) is not None:
                return bad
    return None


# -- request helpers -------------------------------------------------------------------------
def tenant_id(request: Request) -> int:
    return int(request.scope["state"]["tenant_id"])


def api_base(request: Request) -> str:
    """Absolute base of this API as the caller reached it, e.g. ``http://127.0.0.1:8765/groove-helpdesk/v1``.

    Starlette's ``request.url`` works it out from the scheme, ``Host`` header and server address;
    remembered per combination of those, as building the URL cost 3% of a list page."""
    scope = request.scope
    host = next((value for key, value in scope["headers"] if key == b"host"), None)
    server = scope.get("server")
    key = (scope.get("scheme", "http"), host, tuple(server) if server else None, scope.get("root_path", ""))
    base = _bases.get(key)
    if base is None:
        url = request.url
        base = f"{url.scheme}://{url.netloc}{key[3]}"
        if len(_bases) >= 256:
            _bases.clear()
        _bases[key] = base
    return base


_bases: dict[tuple[Any, ...], str] = {}


def url_path(request: Request) -> str:
    """``request.url.path``, remembered per scheme, ``Host`` header, server and path: every list page
    asks for it, and building ``request.url`` (host parsing, URL splitting) is most of that cost."""
    scope = request.scope
    host = next((value for key, value in scope["headers"] if key == b"host"), None)
    server = scope.get("server")
    key = (scope.get("scheme", "http"), host, tuple(server) if server else None, scope["path"])
    path = _paths.get(key)
    if path is None:
        path = request.url.path
        if len(_paths) >= 1024:
            _paths.clear()
        _paths[key] = path
    return path


_paths: dict[tuple[Any, ...], str] = {}


def href(request: Request, *parts: object, query: dict[str, Any] | None = None) -> str:
    path = "/".join(quote(str(p), safe="@") for p in parts)
    out = f"{api_base(request)}/{path}"
    if query:
        out += "?" + urlencode(query)
    return out


def link(url: str) -> dict[str, str]:
    return {"href": url}


INVALID_TEXT = "is not valid text (it holds a lone UTF-16 surrogate); send valid Unicode"


async def params(request: Request) -> dict[str, Any]:
    """Body parameters: JSON object or form-encoded (Groove accepts both); query string as fallback."""
    raw = await request.body()
    out: dict[str, Any] = {}
    if raw.strip():
        ctype = request.headers.get("content-type", "")
        if "json" in ctype or raw.lstrip()[:1] in (b"{", b"["):
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise GrooveError(400, [f"Request body is not valid JSON: {exc.msg}"]) from exc
            except UnicodeDecodeError as exc:
                raise GrooveError(400, ["Request body is not valid UTF-8"]) from exc
            if not isinstance(data, dict):
                raise GrooveError(400, ["Request body must be a JSON object"])
            bad = invalid_text(data)
            if bad is not None:
                raise Invalid([(bad.encode("utf-8", "replace").decode(), INVALID_TEXT)])
            out = data
        else:
            out = rails_form(raw.decode("utf-8", "replace"))
    # Clients such as the Ruby gem send every parameter in the query string, even on POST and PUT,
    # with Rails bracket keys (``from[email]=``, ``tags[]=``).
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "access_token"]
    for key, value in rails_pairs(query).items():
        out.setdefault(key, value)
    return out


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise Invalid([(name, f"must be an integer (got {raw!r})")]) from exc


def page_window(request: Request) -> tuple[int, int]:
    """(page, per_page): page >= 1; per_page defaults to 25 and is capped at 50."""
    page = int_param(request, "page", 1)
    per_page = int_param(request, "per_page", DEFAULT_PER_PAGE)
    if page < 1:
        raise Invalid([("page", "must be greater than or equal to 1")])
    if per_page < 1:
        raise Invalid([("per_page", "must be greater than or equal to 1")])
    return page, min(per_page, MAX_PER_PAGE)


#: The largest integer SQLite stores; page offsets and numbers beyond it match nothing.
SQLITE_MAX_INT = 2**63 - 1


def offset(page: int, per_page: int) -> int:
    """Rows to skip for a page, capped so a huge ``page`` is an empty page rather than an overflow."""
    return min((page - 1) * per_page, SQLITE_MAX_INT)


def pagination(request: Request, page: int, per_page: int, total: int) -> dict[str, Any]:
    """``meta.pagination``; ``next_page``/``prev_page`` are absolute and keep every filter but per_page."""
    total_pages = max(1, -(-total // per_page)) if total else 0
    keep = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "per_page")]
    base = f"{api_base(request)}{url_path(request)[len(request.scope.get('root_path', '')) :]}"

    def page_url(n: int) -> str:
        return f"{base}?{urlencode([*keep, ('page', n)])}"

    return {
        "pagination": {
            "current_page": page,
            "total_pages": total_pages,
            "total_count": total,
            "next_page": page_url(page + 1) if page < total_pages else None,
            "prev_page": page_url(page - 1) if page > 1 and total_pages else None,
        }
    }


def created(body: dict[str, Any], location: str) -> JSONResponse:
    return JSONResponse(body, status_code=201, headers={"Location": location})


def no_content(location: str | None = None) -> Response:
    return Response(status_code=204, headers={"Location": location} if location else None)


def loads(value: str | None, default: Any = None) -> Any:
    return json.loads(value) if value else default


def api_of(request: Request) -> GrooveHelpdeskApi:
    api: GrooveHelpdeskApi = request.app.state.groove
    return api


def one_or_404(api: GrooveHelpdeskApi, what: str, sql: str, *args: Any) -> sqlite3.Row:
    """The one row ``sql`` finds, or 404 "<what> not found"."""
    row = api.ctx.store.one(sql, args)
    if row is None:
        raise NotFound(what)
    return row


# -- value readers for settings-style resources (widgets, knowledge bases; the checks: contract) ---
class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: "Not in the request" (as opposed to an explicit null).
MISSING: Final = _Missing()


def optional_id(value: Any) -> str | _Missing | None:
    """An id reference: string or integer (JSON clients often send the 10 digits as a number).

    null or "" means "clear"; MISSING means "not an id at all".
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return MISSING
    return str(value).strip()


def name_field(
    problems: Problems, body: dict[str, Any], key: str = "name", *, required: bool, max_len: int = NAME_MAX
) -> str | None:
    """A trimmed, non-blank name (groups, widgets); ``None`` when absent or after recording why not."""
    if key not in body:
        if required:
            problems.add(key, "can't be blank")
        return None
    value = body[key]
    if value is not None and not isinstance(value, str):
        problems.add(key, "must be a string")
        return None
    name = (value or "").strip()
    if not name:
        problems.add(key, "can't be blank")
        return None
    if len(name) > max_len:
        problems.add(key, f"is too long (maximum is {max_len} characters)")
        return None
    return name
