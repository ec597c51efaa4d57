"""A destination's configuration compiled against its connection's API: the action the Pusher runs.

The action is an ``ActionSpec`` named ``destination:<name>`` (so each destination has its own ledger:
what it delivered, it never delivers again) whose ``send_batch`` is a ``GroupSender``: the records of
a ledger window are grouped (fixed, by_attribute, max_bytes) and each group is one call, made while
the ``ResponseRecorder`` knows whose records it carries.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ...client.actions import ActionSpec, Problem, Request, Sent
from ...client.errors import ApiError, AuthError, OutcomeUnknown, TransportError
from ...client.http import ApiClient
from ..mapping import Mapping as RecordMapping
from ..preflight import check_mapping
from ..push_records import is_outage, response_body
from ..readers import Record, open_input
from ..store import Store
from . import batching
from .endpoint import ManualEndpoint, placeholders
from .model import ConfigError, DestinationConfig
from .responses import ResponseRecorder

LEDGER_PREFIX = "destination:"


@dataclass
class Plan:
    name: str
    config: DestinationConfig
    action: ActionSpec
    mapping: RecordMapping
    endpoint: ManualEndpoint | None
    template: ActionSpec | None
    sender: GroupSender

    def groups(self, records: list[dict[str, Any]]) -> batching.Groups:
        """Which records share a call, under the current batching settings."""
        settings = self.config.batching
        if not settings.enabled:
            return [[i] for i in range(len(records))]
        size_of = None
        fixed_bytes = separator = 0
        if self.endpoint is not None and settings.grouping == "max_bytes":
            endpoint = self.endpoint
            prefix, sep, suffix = endpoint.frame()
            fixed_bytes, separator = len(prefix) + len(suffix), len(sep)

            def size_of(i: int) -> int:
                return endpoint.record_bytes(records[i])

        group_by = settings.group_by or ""
        return batching.plan(
            len(records),
            settings.size,
            settings.grouping,
            value_of=lambda i: records[i].get(group_by),
            size_of=size_of,
            budget=settings.max_bytes,
            fixed_bytes=fixed_bytes,
            separator=separator,
        )

    def request_for(self, records: list[dict[str, Any]]) -> Request:
        """The request one group becomes (for a GraphQL template: the first record's operation)."""
        if self.endpoint is not None:
            return self.endpoint.request(records)
        assert self.template is not None
        return self.template.build(records[0])


def compile_plan(name: str, config: DestinationConfig, actions: Mapping[str, ActionSpec], base_url: str) -> Plan:
    """Check ``config`` against the API's actions and build the action; ``ConfigError`` names the field."""
    settings = config.batching
    endpoint: ManualEndpoint | None = None
    template: ActionSpec | None = None
    if config.endpoint.template is not None:
        template = actions.get(config.endpoint.template)
        if template is None:
            raise ConfigError(
                f"endpoint.template: {config.endpoint.template!r} is not a template of this connection's API; "
                f"available: {', '.join(actions)}"
            )
        if settings.enabled and template.send_batch is None and settings.size > 1:
            raise ConfigError(
                f"batching: the {template.name} template sends one record per request (the API has no batch "
                "call); turn batching off or configure the endpoint manually"
            )
        if settings.enabled and settings.grouping == "max_bytes":
            raise ConfigError("batching.grouping: max_bytes measures a manual configuration's body; use fixed")
        mapping = RecordMapping.parse(config.map, passthrough=[f.name for f in template.fields])
        check_mapping(mapping, template)
        excluded = set(config.exclude)
        path_fields = set(template.path_fields)
        inner = template.normalize

        def normalize(record: dict[str, Any]) -> dict[str, Any]:
            kept = {k: v for k, v in record.items() if k not in excluded or k in path_fields}
            return inner(kept) if inner else kept

        sender = GroupSender(template=template)
        action = dataclasses.replace(
            template,
            name=LEDGER_PREFIX + name,
            normalize=normalize if excluded else inner,
            send_batch=sender,
        )
    else:
        manual = config.endpoint.manual
        assert manual is not None
        endpoint = ManualEndpoint(manual, tuple(config.exclude), settings, base_url)
        holes = placeholders(manual.url)
        if (
            settings.enabled
            and settings.size > 1
            and holes
            and not (settings.grouping == "by_attribute" and holes == [settings.group_by])
        ):
            raise ConfigError(
                f"batching: a batch goes to one URL, and {manual.url} varies with {', '.join(holes)}; "
                f"group by that attribute (--grouping by_attribute --group-by {holes[0]}) or turn batching off"
            )
        mapping = RecordMapping.parse(config.map)
        sender = GroupSender(endpoint=endpoint)
        checks: Callable[[dict[str, Any]], list[Problem]] = endpoint.check
        action = ActionSpec(
            name=LEDGER_PREFIX + name,
            title=f"{manual.method} {manual.url}",
            method=manual.method,
            path=manual.url,
            fields=(),
            creates=manual.method == "POST",
            validate_extra=checks,
            request_builder=lambda record: endpoint.request([record]),
            send_batch=sender,
        )
    plan = Plan(name, config, action, mapping, endpoint, template, sender)
    sender.plan = plan
    return plan


class GroupSender:
    """``send_batch`` of a destination's action: one call per group, one outcome per record."""

    def __init__(self, endpoint: ManualEndpoint | None = None, template: ActionSpec | None = None) -> None:
        self.endpoint = endpoint
        self.template = template
        self.plan: Plan | None = None
        self.recorder: ResponseRecorder | None = None

    def __call__(
        self,
        client: ApiClient,
        records: list[dict[str, Any]],
        retry: bool = True,
        keys: list[str] | None = None,
        requests: list[Request] | None = None,
    ) -> list[Any]:
        assert self.plan is not None
        keys = keys or [""] * len(records)
        outcomes: list[Any] = [None] * len(records)
        stopped: Any = None
        for group in self.plan.groups(records):
            if stopped is not None:
                for i in group:
                    outcomes[i] = TransportError("not sent: the API could not be reached", "", "", maybe_sent=False)
                continue
            with self._call([keys[i] for i in group]):
                results = self._send(client, [records[i] for i in group], group, requests, retry)
            for i, outcome in zip(group, results, strict=True):
                outcomes[i] = outcome
                if isinstance(outcome, AuthError) or (is_outage(outcome) and not isinstance(outcome, OutcomeUnknown)):
                    stopped = outcome
        return outcomes

    def _call(self, keys: list[str]) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext() if self.recorder is None else self.recorder.call(keys)

    def _send(
        self,
        client: ApiClient,
        group: list[dict[str, Any]],
        indices: list[int],
        requests: list[Request] | None,
        retry: bool,
    ) -> list[Any]:
        try:
            if self.endpoint is not None:
                request = self.endpoint.request(group)
                response = client.request(
                    request.method, request.path, content=request.content, headers=request.headers, retry=retry
                )
                if len(group) == 1:
                    return [response]
                body = response_body(response)
                return [Sent(body, response.status_code) for _ in group]
            assert self.template is not None
            if self.template.send_batch is not None:
                return list(self.template.send_batch(client, group, retry=retry))
            request = requests[indices[0]] if requests else self.template.build(group[0])
            response = client.request(
                request.method, request.path, json=request.json, idempotent=not self.template.creates, retry=retry
            )
            return [response]
        except (ApiError, TransportError) as exc:
            return [exc] * len(group)


# -- sources ---------------------------------------------------------------------------------------
def read_source(source: str, store: Store) -> Iterator[Record]:
    """A destination's records: ``sql:SELECT ...`` over the store, else what ``push --input`` reads."""
    if source.lower().startswith("sql:"):
        return _query(source[4:].strip(), store)
    return open_input(source, store=store)


def _query(sql: str, store: Store) -> Iterator[Record]:
    import duckdb

    try:
        chunks = store.iter_query(sql)
        line = 0
        for names, rows in chunks:
            for row in rows:
                line += 1
                yield line, {n: _plain(v) for n, v in zip(names, row, strict=True)}
    except duckdb.Error as exc:
        raise ConfigError(f"source: the query failed ({str(exc).splitlines()[0]})") from None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
