"""The destination form (seed 002's screen) as the options ``destinations.apply_options`` takes, and
the other fields the console's pages read (an edited test sample, numbers named in one-line errors).

The CLI's ``create``/``edit`` flags and this form feed the same function, so every rule (batching
companions, header syntax, a template or a manual endpoint) is checked once, in the engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.datastructures import FormData

from ..errors import UserError
from ..sync import destinations as dest
from ..sync.destinations.model import DEFAULT_BATCH_SIZE, DestinationConfig, Responses, restore_redacted, shown_header
from ..sync.store import Store


def _text(form: FormData, key: str) -> str | None:
    value = form.get(key)
    return value.strip() or None if isinstance(value, str) else None


def options_from_form(form: FormData) -> dict[str, Any]:
    """Every setting of the form (a whole configuration, not a change)."""
    options: dict[str, Any] = {
        "connection": _text(form, "connection"),
        "source": _text(form, "source"),
        "key": _text(form, "key"),
        "exclude": [str(x) for x in form.getlist("exclude") if str(x).strip()],
        "map": [line.strip() for line in str(form.get("map") or "").splitlines() if line.strip()],
    }
    if form.get("mode") == "template":
        options["template"] = _text(form, "template")
    else:
        headers = _text(form, "headers")
        options.update(
            method=_text(form, "method") or "POST",
            url=_text(form, "url"),
            format=_text(form, "format"),
            headers=dest.parse_headers([headers]) if headers else {},
        )
    batching = form.get("batching") == "on"
    options["batching"] = batching
    if batching:
        size = _text(form, "batch_size") or str(DEFAULT_BATCH_SIZE)
        if not size.isdigit():
            raise UserError(f"Batch Size {size!r}: enter a whole number of records (e.g. 100)")
        grouping = _text(form, "grouping") or "fixed"
        options.update(batch_size=int(size), grouping=grouping, wrap=_text(form, "wrap"))
        if grouping == "by_attribute":
            options["group_by"] = _text(form, "group_by") or ""
        if grouping == "max_bytes":
            budget = _text(form, "max_bytes") or ""
            if not budget.isdigit():
                raise UserError(f"Max Bytes {budget!r}: enter a whole number of bytes")
            options["max_bytes"] = int(budget)
    responses = form.get("responses") == "on"
    options["responses"] = responses
    options["responses_url"] = _text(form, "responses_url") if responses else None
    if "response_headers" in form:  # the names kept with each response, comma-separated like request headers
        options["response_headers"] = [h for h in str(form.get("response_headers") or "").split(",") if h.strip()]
    return options


def config_from_form(form: FormData, current: DestinationConfig | None = None) -> DestinationConfig:
    """The configuration the form describes (a form without a setting keeps ``current``'s; a masked
    header value is ``current``'s value, unchanged)."""
    options = options_from_form(form)
    if current is not None and options.get("response_headers") is None:
        options["response_headers"] = current.responses.headers
    return restore_redacted(dest.apply_options(None, options), current)


def form_values(config: DestinationConfig | None) -> dict[str, Any]:
    """A saved configuration as the form's initial values."""
    if config is None:
        return {
            "mode": "manual", "method": "POST", "format": "json", "exclude": [], "batch_size": DEFAULT_BATCH_SIZE,
            "response_headers": ", ".join(Responses().headers),
        }  # fmt: skip
    manual, batching = config.endpoint.manual, config.batching
    return {
        "connection": config.connection,
        "source": config.source,
        "key": config.key or "",
        "map": "\n".join(config.map),
        "exclude": list(config.exclude),
        "mode": "template" if config.endpoint.template else "manual",
        "template": config.endpoint.template or "",
        "method": manual.method if manual else "POST",
        "url": manual.url if manual else "",
        "format": manual.format if manual else "json",
        "headers": ",".join(f"{k}:{shown_header(k, v)}" for k, v in (manual.headers if manual else {}).items()),
        "batching": batching.enabled,
        "batch_size": batching.size,
        "grouping": batching.grouping,
        "group_by": batching.group_by or "",
        "max_bytes": batching.max_bytes or "",
        "wrap": batching.wrap or "",
        "responses": config.responses.enabled,
        "responses_url": config.responses.webhook_url or "",
        "response_headers": ", ".join(config.responses.headers),
    }


def edited_sample(text: str, original: str) -> dict[str, Any] | None:
    """The Test tab's sample when the user changed it (unchanged: ``None``, the engine's own sample)."""
    if not text.strip() or text.strip() == original.strip():
        return None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"edited sample: not JSON (line {exc.lineno}: {exc.msg}); nothing sent") from None
    if not isinstance(payload, dict):
        raise UserError("edited sample: expected one JSON object (a record); nothing sent")
    return payload


def number_field(form: FormData, name: str, kind: Callable[[str], Any], default: str = "") -> Any:
    """A numeric form field, or one line naming it."""
    text = str(form.get(name) or default).strip()
    try:
        return kind(text)
    except ValueError:
        raise UserError(f"{name}: {text!r} is not a {'whole ' if kind is int else ''}number") from None


def saved_or_form_config(db: Store, form: FormData) -> DestinationConfig:
    """The form's configuration; on a saved destination's page (``original``), a ``[redacted]`` header
    stands for the saved value, so what is previewed or tested is what would be saved."""
    original = str(form.get("original") or "").strip()
    return config_from_form(form, dest.find(db, original).config if original else None)


def form_name(form: FormData) -> str:
    """The destination the form is about: the saved one it edits, its new name, or ``preview``."""
    return str(form.get("original") or form.get("name") or "").strip() or "preview"


def posted_values(form: FormData) -> dict[str, Any]:
    """What the user typed, to show the form again after an error."""
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    values["exclude"] = [str(x) for x in form.getlist("exclude")]
    values["batching"] = form.get("batching") == "on"
    values["responses"] = form.get("responses") == "on"
    values.setdefault("mode", "manual")
    return values
