"""A schema-first GraphQL serving engine for emulated APIs (graphql-core).

An API hands in its SDL (the contract, shared with its connector) and a resolver map
``{"Type": {"field": fn}}``; the engine builds the executable schema once and serves one endpoint:

- ``POST`` with a JSON body ``{query, variables, operationName}`` (or ``application/graphql`` text),
  ``GET`` with the same as query parameters (queries only: a mutation over GET is a 405);
- parse -> validate -> execute, answered as ``{"data": ..., "errors": [{message, locations, path,
  extensions}]}`` with status 200, as graphql-ruby's controllers do; a body that is not JSON is 400;
- introspection, and the SDL itself at ``<endpoint>/schema.graphql``.

Resolvers raise ``ResolverError`` for the API's own errors; any other exception is reported as
"Internal server error" so no internals (or secrets) leak into a response. Resolvers may be ``async``
(e.g. one that calls out over HTTP); they are awaited on the server's event loop. An API whose
server answers request errors (parse, validation, variables) differently passes ``request_errors``.
"""

from __future__ import annotations

import base64
import inspect
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    build_schema,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

Resolver = Callable[..., Any]
#: Parsed and validated operations kept per service (by query text).
DOCUMENT_CACHE_SIZE = 256
#: ``(kind, errors) -> (status, body)`` for errors raised before execution; kind is "parse",
#: "validation" or "variables".
RequestErrors = Callable[[str, list[GraphQLError]], tuple[int, dict[str, Any]]]


class ResolverError(GraphQLError):
    """An error the API means to report (not found, invalid...), with optional ``extensions``."""

    def __init__(self, message: str, code: str | None = None, **extensions: Any) -> None:
        ext = {"code": code, **extensions} if code else (extensions or None)
        super().__init__(message, extensions=ext)


class GraphQLService:
    """One executable schema and the Starlette routes that serve it."""

    def __init__(
        self,
        sdl: str | Path,
        resolvers: Mapping[str, Mapping[str, Resolver]],
        scalars: Mapping[str, Mapping[str, Callable[..., Any]]] | None = None,  # serialize, parse_value
        context: Callable[[Request], Any] | None = None,
        request_errors: RequestErrors | None = None,
    ) -> None:
        self.sdl = sdl.read_text() if isinstance(sdl, Path) else sdl
        self.request_errors = request_errors
        self.schema: GraphQLSchema = build_schema(self.sdl)
        self.context = context or (lambda request: {"request": request})
        self._documents: OrderedDict[str, tuple[DocumentNode | None, str, list[GraphQLError]]] = OrderedDict()
        self._lock = threading.Lock()
        for type_name, hooks in (scalars or {}).items():
            scalar = self.schema.type_map[type_name]
            if not isinstance(scalar, GraphQLScalarType):
                raise TypeError(f"{type_name} is not a scalar of the schema")
            # graphql-core 3.3 renamed the hooks (coerce_output_value, coerce_input_value); set both.
            for hook, renamed in (("serialize", "coerce_output_value"), ("parse_value", "coerce_input_value")):
                if hook in hooks:
                    setattr(scalar, hook, hooks[hook])
                    if hasattr(scalar, renamed):
                        setattr(scalar, renamed, hooks[hook])
        for type_name, fields in resolvers.items():
            gtype = self.schema.type_map.get(type_name)
            if not isinstance(gtype, GraphQLObjectType):
                raise TypeError(f"{type_name} is not an object type of the schema")
            for field_name, fn in fields.items():
                if field_name not in gtype.fields:
                    raise TypeError(f"{type_name}.{field_name} is not in the schema")
                gtype.fields[field_name].resolve = fn

    def routes(self, path: str) -> list[BaseRoute]:
        return [
            Route(path, self.endpoint, methods=["GET", "POST"]),
            Route(f"{path}/schema.graphql", self.sdl_endpoint, methods=["GET"]),
        ]

    async def sdl_endpoint(self, request: Request) -> Response:
        return PlainTextResponse(self.sdl, media_type="application/graphql")

    @staticmethod
    def operation_name(body: bytes, query_string: str = "") -> str | None:
        """The operation a request runs (for the journal and fault rules): its ``operationName``, else the
        name in the document, else the first root field (``addPersonToFlow``) of an anonymous one."""
        try:
            data = json.loads(body) if body.strip() else dict(parse_qsl(query_string))
        except ValueError:
            return None
        if isinstance(data, dict) and isinstance(data.get("operationName"), str):
            return str(data["operationName"])
        query = data.get("query") if isinstance(data, dict) else None
        if not isinstance(query, str):
            return None
        try:
            op = get_operation_ast(parse(query))
        except GraphQLError:
            return None
        if op is None:
            return None
        if op.name is not None:
            return op.name.value
        first = op.selection_set.selections[0] if op.selection_set.selections else None
        return getattr(getattr(first, "name", None), "value", None)

    async def endpoint(self, request: Request) -> Response:
        try:
            query, variables, operation_name = await _read(request)
            outcome = self._execute(
                query, variables, operation_name, self.context(request), read_only=request.method == "GET"
            )
        except _BadRequest as exc:
            return _errors(exc.status, exc.message)
        if isinstance(outcome, tuple):
            return JSONResponse(outcome[1], status_code=outcome[0])
        result = await outcome if inspect.isawaitable(outcome) else outcome
        status, body = self._finish(result)
        return JSONResponse(body, status_code=status)

    def _checked(self, query: str) -> tuple[DocumentNode | None, str, list[GraphQLError]]:
        """The parsed document, or the kind of request error ("parse"/"validation") and its errors; cached
        by query text: a push sends the same aliased mutation again and again, and parsing + validating it
        cost more than executing it."""
        with self._lock:
            cached = self._documents.get(query)
            if cached is not None:
                self._documents.move_to_end(query)
                return cached
        found: tuple[DocumentNode | None, str, list[GraphQLError]]
        try:
            document = parse(query)
        except GraphQLError as exc:
            found = (None, "parse", [exc])
        else:
            problems = list(validate(self.schema, document))
            found = (None if problems else document, "validation", problems)
        with self._lock:
            self._documents[query] = found
            while len(self._documents) > DOCUMENT_CACHE_SIZE:
                self._documents.popitem(last=False)
        return found

    def run(
        self,
        query: str | None,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
        read_only: bool = False,
    ) -> dict[str, Any]:
        """Parse, validate and execute one operation (synchronous resolvers only); the response body."""
        outcome = self._execute(query, variables, operation_name, context, read_only)
        if isinstance(outcome, tuple):
            return outcome[1]
        if not isinstance(outcome, ExecutionResult):
            raise TypeError("GraphQLService.run needs synchronous resolvers; the endpoint awaits async ones")
        return self._finish(outcome)[1]

    def _execute(
        self,
        query: str | None,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
        read_only: bool,
    ) -> tuple[int, dict[str, Any]] | Any:
        """An ``ExecutionResult`` (or an awaitable of one), or ``(status, body)`` for a request error."""
        if not query:
            return 200, {"errors": [{"message": "No query string was present"}]}
        document, kind, problems = self._checked(query)
        if problems or document is None:
            return self._request_error(kind, problems)
        if read_only:
            op = get_operation_ast(document, operation_name)
            if isinstance(op, OperationDefinitionNode) and op.operation != OperationType.QUERY:
                raise _BadRequest(405, f"Can only perform a {op.operation.value} over POST")
        return execute(
            self.schema, document, variable_values=variables, operation_name=operation_name, context_value=context
        )

    def _request_error(self, kind: str, errors: list[GraphQLError]) -> tuple[int, dict[str, Any]]:
        if self.request_errors is not None:
            return self.request_errors(kind, errors)
        return 200, {"errors": [e.formatted for e in errors]}

    def _finish(self, result: ExecutionResult) -> tuple[int, dict[str, Any]]:
        if (
            self.request_errors is not None
            and result.data is None
            and result.errors
            and all(e.path is None for e in result.errors)
        ):
            return self.request_errors("variables", list(result.errors))
        return 200, _format(result)


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _format(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [_safe(e) for e in result.errors]
        if result.data is None and all(e.path is None for e in result.errors):
            return body  # a request error (e.g. bad variables): execution never started, so no "data"
    body["data"] = result.data
    return body


def _safe(error: GraphQLError) -> dict[str, Any]:
    """A resolver's crash becomes "Internal server error": its message might carry internals."""
    formatted = dict(error.formatted)
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        formatted["message"] = "Internal server error"
        formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    return formatted


def _errors_body(message: str) -> dict[str, Any]:
    return {"errors": [{"message": message}]}


def _errors(status: int, message: str) -> JSONResponse:
    return JSONResponse(_errors_body(message), status_code=status)


async def _read(request: Request) -> tuple[str | None, dict[str, Any] | None, str | None]:
    if request.method == "GET":
        q = request.query_params
        raw_vars = q.get("variables")
        try:
            variables = json.loads(raw_vars) if raw_vars else None
        except ValueError:
            raise _BadRequest(400, "Variables are invalid JSON") from None
        return q.get("query"), _vars(variables), q.get("operationName")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if ctype == "application/graphql":
        return raw.decode("utf-8", "replace"), None, request.query_params.get("operationName")
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise _BadRequest(400, "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _BadRequest(400, "The request body must be a JSON object with a 'query'")
    variables = data.get("variables")
    if isinstance(variables, str):  # some clients send variables as a JSON string
        try:
            variables = json.loads(variables) if variables.strip() else None
        except ValueError:
            raise _BadRequest(400, "Variables are invalid JSON") from None
    query, op = data.get("query"), data.get("operationName")
    if query is not None and not isinstance(query, str):
        raise _BadRequest(400, "'query' must be a string")
    return query, _vars(variables), op if isinstance(op, str) else None


def _vars(variables: Any) -> dict[str, Any] | None:
    if variables is None:
        return None
    if not isinstance(variables, dict):
        raise _BadRequest(400, "'variables' must be an object")
    return variables


# -- Relay connections ---------------------------------------------------------------------------
_CURSOR_PREFIX = "cursor:v1:"


def encode_cursor(key: int) -> str:
    """Opaque (base64url, unpadded) and keyed by the item, not its offset: stable while data changes."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(cursor)
        return int(text[len(_CURSOR_PREFIX) :])
    except (ValueError, UnicodeDecodeError):
        raise ResolverError(f"Invalid cursor: {json.dumps(cursor)}", "INVALID_CURSOR") from None


def relay_connection(
    items: Sequence[Mapping[str, Any]],
    key: str,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    max_page_size: int | None = None,
) -> dict[str, Any]:
    """A Relay connection (``edges``, ``nodes``, ``pageInfo``) over ``items`` sorted by their int ``key``.

    Follows the Relay spec's algorithm (after/before narrow, then first keeps the head and last the
    tail); ``hasPreviousPage`` with ``after`` and ``hasNextPage`` with ``before`` say whether items lie
    outside the cursor, as graphql-ruby does. Page sizes above ``max_page_size`` are clamped.
    """
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise ResolverError(f"Argument '{name}' must be greater than or equal to 0", "INVALID_ARGUMENT")
    after_key = decode_cursor(after) if after is not None else None
    before_key = decode_cursor(before) if before is not None else None
    if max_page_size is not None:
        if first is None and last is None:
            first = max_page_size
        first = None if first is None else min(first, max_page_size)
        last = None if last is None else min(last, max_page_size)
    window = [
        i
        for i in items
        if (after_key is None or int(i[key]) > after_key) and (before_key is None or int(i[key]) < before_key)
    ]
    has_next = has_prev = False
    if first is not None and len(window) > first:
        window, has_next = window[:first], True
    if last is not None and len(window) > last:
        window, has_prev = window[len(window) - last :], True
    if first is None and before_key is not None:
        has_next = any(int(i[key]) >= before_key for i in items)
    if last is None and after_key is not None:
        has_prev = any(int(i[key]) <= after_key for i in items)
    edges = [{"cursor": encode_cursor(int(i[key])), "node": i} for i in window]
    return {
        "edges": edges,
        "nodes": list(window),
        "pageInfo": {
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
            "hasNextPage": has_next,
            "hasPreviousPage": has_prev,
        },
    }
