"""Saving destinations: create, edit (a new version), delete, activate now or later, list their runs.

Plain functions over a Store, returning data and raising ``UserError`` subclasses: the CLI prints
what they return, the web console will too. Every save checks the configuration against the
connection's API first, so a saved destination is one that can run.
"""

from __future__ import annotations

from typing import Any

from ...errors import UserError
from .. import connectors
from ..connections import ConnectionFileError, ConnectionStore
from ..store import Store, schema_for
from . import storage
from .delivery import connection_of, find
from .model import DestinationConfig, parse, restore_redacted, valid_name
from .plan import compile_plan
from .responses import new_secret
from .storage import DeliveryRun, Destination

#: Shortest schedule the worker accepts, in seconds.
MIN_EVERY = 0.1
DEFAULT_EVERY = 60.0


def check(name: str, config: DestinationConfig, connections: ConnectionStore | None = None) -> None:
    """The configuration against its connection's API (template exists, batching fits, URL host)."""
    connection = connection_of(config.connection, connections)
    compile_plan(name, config, connectors.actions_for(connection), connection.base_url)


def create(
    store: Store, name: str, config: DestinationConfig, connections: ConnectionStore | None = None
) -> tuple[Destination, str]:
    """Save a new, inactive destination; returns it and its webhook signing secret (shown this once)."""
    valid_name(name)
    storage.ensure(store)
    if storage.get(store, name) is not None:
        raise UserError(f"destination {name!r} exists; change it with `engagesync destinations edit {name}`")
    _no_clash(name, connections)
    check(name, config, connections)
    secret = new_secret()
    storage.insert(store, name, config, secret)
    if config.responses.enabled:
        storage.ensure_responses(store, name)
    return find(store, name), secret


def _no_clash(name: str, connections: ConnectionStore | None) -> None:
    """``<destination>.responses`` lives in a schema named after the destination: not a connection's."""
    try:
        names = [c.name for c in (connections or ConnectionStore()).all()]
    except ConnectionFileError:
        return
    for other in names:
        if schema_for(other) == schema_for(name):
            raise UserError(
                f"destination name {name!r}: the connection {other!r} keeps its streams in schema "
                f"{schema_for(name)!r}, where this destination's responses would go; choose another name"
            )


def signing_secret(store: Store, name: str) -> str:
    """The secret the destination signs its response webhooks with (for the receiver's verifier)."""
    find(store, name)  # one line naming the destination if there is none
    secret = storage.secret(store, name)
    if secret is None:
        raise UserError(f"destination {name!r} has no webhook signing secret (it was saved by an older version)")
    return secret


def edit(store: Store, name: str, config: DestinationConfig, connections: ConnectionStore | None = None) -> Destination:
    """Save ``config`` as the destination's next version (unchanged: no new version). A header value
    shown as ``[redacted]`` keeps its saved value."""
    current = find(store, name)
    config = restore_redacted(config, current.config)
    if config == current.config:
        return current
    check(name, config, connections)
    storage.new_version(store, name, config)
    if config.responses.enabled:
        storage.ensure_responses(store, name)
    return find(store, name)


def apply_options(config: DestinationConfig | None, options: dict[str, Any]) -> DestinationConfig:
    """A configuration from command-line style options laid over ``config`` (``None`` values: unchanged).

    Keys: connection, source, template, method, url, format, headers (dict), exclude, map, key,
    batching (bool), batch_size, grouping, group_by, max_bytes, wrap, responses (bool),
    response_headers, responses_url."""
    data: dict[str, Any] = config.to_data() if config is not None else {}
    for key in ("connection", "source", "exclude", "map", "key"):
        if options.get(key) is not None:
            data[key] = options[key]
    endpoint = data.setdefault("endpoint", {})
    if options.get("template") is not None:
        data["endpoint"] = {"template": options["template"]}
    elif any(options.get(k) is not None for k in ("method", "url", "format", "headers")):
        manual = dict(endpoint.get("manual") or {})
        for key in ("method", "url", "format", "headers"):
            if options.get(key) is not None:
                manual[key] = options[key]
        data["endpoint"] = {"manual": manual}
    batching = data.setdefault("batching", {})
    if options.get("batching") is not None:
        batching["enabled"] = options["batching"]
    for option, key in (("batch_size", "size"), ("grouping", "grouping"), ("group_by", "group_by"),
                        ("max_bytes", "max_bytes"), ("wrap", "wrap")):  # fmt: skip
        if options.get(option) is not None:
            batching[key] = options[option]
            if option in ("batch_size", "grouping") and options.get("batching") is None:
                batching["enabled"] = True
    if batching.get("grouping") not in (None, "by_attribute") and option_unset(options, "group_by"):
        batching.pop("group_by", None)
    if batching.get("grouping") not in (None, "max_bytes") and option_unset(options, "max_bytes"):
        batching.pop("max_bytes", None)
    responses = data.setdefault("responses", {})
    if options.get("responses") is not None:
        responses["enabled"] = options["responses"]
    if options.get("responses_url") is not None:
        responses["webhook_url"] = options["responses_url"] or None
        responses["enabled"] = responses.get("enabled", True) or bool(options["responses_url"])
    if options.get("response_headers") is not None:
        responses["headers"] = options["response_headers"]
    return parse(data, "destination")


def option_unset(options: dict[str, Any], key: str) -> bool:
    return options.get(key) is None


def delete(store: Store, name: str) -> None:
    """Forget the destination (its responses table and ledger stay: a re-created namesake does not
    deliver again what this one delivered)."""
    find(store, name)
    storage.remove(store, name)


def activate(store: Store, name: str, every: float | None = None) -> Destination:
    """From now on the worker delivers for it every ``every`` seconds (default: the last, else 60)."""
    current = find(store, name)
    if every is not None and every < MIN_EVERY:
        raise UserError(f"--every {every}: the shortest schedule is {MIN_EVERY} seconds")
    storage.set_active(store, name, True, every if every is not None else (current.every_seconds or DEFAULT_EVERY))
    return find(store, name)


def deactivate(store: Store, name: str) -> Destination:
    find(store, name)
    storage.set_active(store, name, False, None)
    return find(store, name)


def list_all(store: Store) -> list[Destination]:
    storage.ensure(store)
    return storage.all_(store)


def runs(store: Store, name: str, limit: int = 20) -> list[DeliveryRun]:
    find(store, name)
    return storage.runs(store, name, limit)


def parse_interval(text: str) -> float:
    """``30s``, ``5m``, ``1h``, ``1.5`` (seconds) -> seconds; a one-line error otherwise."""
    value = text.strip().lower()
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    for unit in sorted(units, key=len, reverse=True):
        if value.endswith(unit):
            number, factor = value[: -len(unit)], units[unit]
            break
    else:
        number, factor = value, 1.0
    try:
        seconds = float(number) * factor
    except ValueError:
        raise UserError(f"--every {text!r}: expected an interval such as 30s, 5m or 1h") from None
    if seconds <= 0:
        raise UserError(f"--every {text!r}: the interval must be positive")
    return seconds
