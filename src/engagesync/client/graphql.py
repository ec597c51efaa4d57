"""GraphQL execution on top of ``ApiClient``: local validation, typed errors, partial data, Relay paging.

It knows no API: a connector hands in its SDL (the same contract its emulator serves) and the path
of the endpoint relative to the client's base URL.

- Every operation is parsed and validated against the SDL (graphql-core ``validate``) *before* it is
  sent: a typo in a field or a wrong argument type is an ``InvalidQuery`` naming the problem, and no
  request (and no rate-limit budget) is spent on it. Validation is cached per operation text.
- A query goes out as an idempotent request (retried on timeouts and 5xx); a mutation does not, so a
  timeout is ``OutcomeUnknown`` for the caller's ledger to reconcile.
- The response's ``errors`` become ``GraphQLError`` (message, path, ``extensions.code``); with no
  ``data`` at all the request raised ``GraphQLRequestError``; with data *and* errors (partial data,
  or some aliases of a batch failing) both are returned so the caller can use what arrived.
- ``relay_pages`` follows a Relay connection (``first``/``after``, ``pageInfo.hasNextPage`` and
  ``endCursor``) and can resume from any cursor, so a stream commits the cursor with each page.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    build_schema,
    parse,
    validate,
)
from graphql import GraphQLError as CoreGraphQLError

from .errors import GraphQLError, GraphQLRequestError, InvalidQuery, redact_text
from .http import ApiClient
from .paginate import PaginationLoop


@lru_cache(maxsize=16)
def schema_of(sdl: str) -> GraphQLSchema:
    """The schema built from SDL text, once per process (building it is the slow part)."""
    return build_schema(sdl)


@dataclass(frozen=True)
class Operation:
    """A validated operation: its text, name and kind."""

    text: str
    name: str | None
    mutation: bool


def check_operation(schema: GraphQLSchema, text: str, operation_name: str | None = None) -> Operation:
    """Parse and validate ``text`` against ``schema``; ``InvalidQuery`` lists every problem found."""
    try:
        document: DocumentNode = parse(text)
    except CoreGraphQLError as exc:
        raise InvalidQuery([_describe(exc)]) from None
    problems = [_describe(e) for e in validate(schema, document)]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if not problems and len(chosen) != 1:
        problems.append(
            f"operation {operation_name!r} not found" if operation_name else "several operations: name the one to run"
        )
    if problems:
        raise InvalidQuery(problems)
    op = chosen[0]
    return Operation(text, op.name.value if op.name else None, op.operation == OperationType.MUTATION)


def _describe(error: CoreGraphQLError) -> str:
    where = ", ".join(f"line {loc.line} column {loc.column}" for loc in error.locations or [])
    return f"{error.message}{f' ({where})' if where else ''}"


@dataclass
class GraphQLResult:
    """What a GraphQL response carried: the data (possibly partial) and the errors beside it."""

    data: dict[str, Any] | None
    errors: list[GraphQLError] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return self.data is not None and bool(self.errors)

    def errors_for(self, root: str) -> list[GraphQLError]:
        """Errors whose path starts at root field (or alias) ``root``."""
        return [e for e in self.errors if e.path and e.path[0] == root]

    def unplaced_errors(self) -> list[GraphQLError]:
        """Errors with no path: they concern the whole operation."""
        return [e for e in self.errors if not e.path]


class GraphQLClient:
    """Runs operations on one endpoint through an ``ApiClient`` (its auth, budget and retries)."""

    def __init__(self, api: ApiClient, sdl: str, path: str = "") -> None:
        self.api = api
        self.schema = schema_of(sdl)
        self.path = path or api.base_url  # absolute: the endpoint URL itself, no trailing slash
        self._checked: dict[tuple[str, str | None], Operation] = {}
        self._lock = threading.Lock()

    def operation(self, text: str, operation_name: str | None = None) -> Operation:
        key = (text, operation_name)
        with self._lock:
            found = self._checked.get(key)
        if found is None:
            found = check_operation(self.schema, text, operation_name)
            with self._lock:
                if len(self._checked) > 512:
                    self._checked.clear()
                self._checked[key] = found
        return found

    def execute(
        self,
        text: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
        *,
        retry: bool = True,
    ) -> GraphQLResult:
        """Validate locally, send, and return data + errors; raise when nothing but errors came back."""
        op = self.operation(text, operation_name)
        body: dict[str, Any] = {"query": op.text, "variables": variables or {}}
        if operation_name:
            body["operationName"] = operation_name
        response = self.api.request("POST", self.path, json=body, idempotent=not op.mutation, retry=retry)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise GraphQLRequestError([GraphQLError("the response is not a GraphQL result")], op.name)
        errors = [self._error(e) for e in payload.get("errors") or [] if isinstance(e, dict)]
        data = payload.get("data")
        if not isinstance(data, dict):
            raise GraphQLRequestError(errors or [GraphQLError("the response carries no data")], op.name)
        return GraphQLResult(data, errors)

    def query(
        self, text: str, variables: dict[str, Any] | None = None, operation_name: str | None = None
    ) -> dict[str, Any]:
        """The data of an operation that must succeed entirely (any error raises)."""
        result = self.execute(text, variables, operation_name)
        if result.errors:
            raise GraphQLRequestError(result.errors, operation_name)
        assert result.data is not None
        return result.data

    def _error(self, raw: dict[str, Any]) -> GraphQLError:
        secrets = self.api.auth.secrets() if self.api.auth else []
        path = tuple(p for p in raw.get("path") or [] if isinstance(p, str | int))
        ext = raw.get("extensions")
        code = ext.get("code") if isinstance(ext, dict) and isinstance(ext.get("code"), str) else None
        locations = tuple(
            (int(loc.get("line", 0)), int(loc.get("column", 0)))
            for loc in raw.get("locations") or []
            if isinstance(loc, dict)
        )
        return GraphQLError(redact_text(str(raw.get("message", "(no message)")), secrets), path, code, locations)


@dataclass
class RelayPage:
    nodes: list[dict[str, Any]]
    #: The cursor to resume after this page (``None`` when the connection is empty).
    end_cursor: str | None
    has_next: bool


def dig(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def relay_pages(
    gql: GraphQLClient,
    text: str,
    variables: dict[str, Any] | None,
    connection: Sequence[str],
    *,
    first: int = 100,
    after: str | None = None,
) -> Iterator[RelayPage]:
    """Every page of the Relay connection at ``connection`` (a path in ``data``), from cursor ``after``.

    ``text`` declares ``$first: Int`` and ``$after: String`` and passes them to the connection field;
    the connection selects ``pageInfo { hasNextPage endCursor }`` and ``nodes`` (or ``edges { node }``).
    A ``null`` parent (e.g. the flow was deleted) ends the connection. Any error fails the page: a pull
    must not skip records silently.
    """
    cursor = after
    seen: set[str | None] = {cursor} if cursor is not None else set()
    while True:
        data = gql.query(text, {**(variables or {}), "first": first, "after": cursor})
        conn = dig(data, connection)
        if not isinstance(conn, dict):
            yield RelayPage([], cursor, False)
            return
        raw = conn.get("nodes")
        if raw is None:
            raw = [edge.get("node") for edge in conn.get("edges") or [] if isinstance(edge, dict)]
        nodes = [n for n in raw if isinstance(n, dict)]
        info = conn.get("pageInfo") or {}
        has_next = bool(info.get("hasNextPage"))
        end = info.get("endCursor") if isinstance(info.get("endCursor"), str) else None
        if has_next and (end is None or end in seen):
            raise PaginationLoop(
                f"the connection at {'.'.join(connection)} claims more pages but its endCursor "
                f"{'is missing' if end is None else 'repeats'}; stopping"
            )
        yield RelayPage(nodes, end if end is not None else cursor, has_next)
        if not has_next:
            return
        seen.add(end)
        cursor = end


_RUNNERS: weakref.WeakKeyDictionary[ApiClient, GraphQLClient] = weakref.WeakKeyDictionary()


def runner_for(api: ApiClient, sdl: str) -> GraphQLClient:
    """The one GraphQL runner of ``api`` (its validated operations are cached for the client's life)."""
    found = _RUNNERS.get(api)
    if found is None:
        found = _RUNNERS[api] = GraphQLClient(api, sdl)
    return found
