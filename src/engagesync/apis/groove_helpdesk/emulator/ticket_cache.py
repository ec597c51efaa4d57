"""Ticket lists as JSON text, each row's rendering remembered by everything it is made of.

A list page used to build 50 dicts and hand them to ``JSONResponse``: rendering and encoding were
half of a page's CPU time, repeated for rows that had not changed since the last read. Here each
row's JSON is a pure function of its key (the API base, every stored value it shows with the joined
names, its tag list and tag ids), so a remembered text can never be stale: a changed ticket,
customer email, group name or tag id makes a different key. The page is the join of those texts, byte for byte what
``JSONResponse`` would encode (its ``json.dumps`` settings; JSON encoding is compositional).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from .ticket_store import TICKET_FROM, TICKET_JOINED, _tag_ids, _tags, render_ticket

if TYPE_CHECKING:
    from . import GrooveHelpdeskApi

#: Rows remembered (about 1 KB of text each); the whole memo is dropped when it fills, which keeps
#: the hot path to one dict lookup and a deep pull's memory flat.
CAPACITY = 4096

_memo: dict[tuple[Any, ...], str] = {}
_lock = threading.Lock()


@lru_cache(maxsize=1024)
def _tag_names(raw: str | None) -> tuple[str, ...]:
    """A stored tag list, parsed once per distinct text (a few combinations recur on every page)."""
    return tuple(_tags(raw))


#: ``json.dumps`` with Starlette's ``JSONResponse.render`` settings builds an encoder per call (a
#: page encodes 50 rows one by one); this one, made once, writes the same text.
_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


def dumps(value: Any) -> str:
    """JSON text exactly as Starlette's ``JSONResponse.render`` writes it (before UTF-8 encoding)."""
    return _encoder.encode(value)


#: What ``render_ticket`` reads of a row, and the SQL for each. Timestamps come as whole seconds
#: (``CAST`` truncates as ``int()`` does; rendering shows whole seconds), as ``json_array`` would
#: print a REAL with 15 digits and could round it up into the next second.
RENDERED: dict[str, str] = {
    "number": "t.number",
    "id": "t.id",
    "state": "t.state",
    "title": "t.title",
    "priority": "t.priority",
    "assigned_group_id": "t.assigned_group_id",
    "customer_id": "t.customer_id",
    "mailbox_id": "t.mailbox_id",
    "starred": "t.starred",
    "summary": "t.summary",
    "message_count": "t.message_count",
    "resolution_time": "t.resolution_time",
    "created_at": "CAST(t.created_at AS INTEGER)",
    "updated_at": "CAST(t.updated_at AS INTEGER)",
    **TICKET_JOINED,
}
_NAMES = tuple(RENDERED)
#: One row per ticket: its tag list and everything else it renders from as one JSON array. One text
#: per row (not 20 Python values) is the cheapest thing to fetch, and is the memo key as it stands.
LIST_SELECT = f"SELECT t.tags, json_array({', '.join(RENDERED.values())}){TICKET_FROM}"


def _tag_keys(
    api: GrooveHelpdeskApi, tenant_id: int, raws: Sequence[str]
) -> tuple[dict[str, int], dict[str, tuple[int, ...]]]:
    """The ids of the tags named in the stored tag lists ``raws`` (one query), and for each list the
    ids its rendering shows (the memo key's part for tags)."""
    tag_lists = {raw: _tag_names(raw) for raw in raws}
    wanted = {name for tags in tag_lists.values() for name in tags}
    ids = _tag_ids(api, tenant_id, wanted) if wanted else {}
    return ids, {raw: tuple(ids[name] for name in tags if name in ids) for raw, tags in tag_lists.items()}


def page_json(api: GrooveHelpdeskApi, tenant_id: int, base: str, numbers: Sequence[int]) -> list[str]:
    """The tickets ``numbers`` (in number order) rendered (``render_ticket``) and encoded.

    A page read again before any write is the list of texts built the first time (the store's
    ``remembered``: any write makes a new version of the data); a page read after a write runs the list
    query, and takes each row's text from the memo when its key is unchanged."""
    if not numbers:
        return []
    key = ("gh-page", tenant_id, base, tuple(numbers))
    return api.ctx.store.remembered(key, lambda: _page_json(api, tenant_id, base, numbers))


def _page_json(api: GrooveHelpdeskApi, tenant_id: int, base: str, numbers: Sequence[int]) -> list[str]:
    rows = api.ctx.store.tuples(
        f"{LIST_SELECT} WHERE t.tenant_id = ? AND t.number IN ({', '.join('?' * len(numbers))}) ORDER BY t.number",
        (tenant_id, *numbers),
    )
    # a page repeats a few tag lists: their ids are looked up once per version of the data
    raws = tuple(dict.fromkeys(raw for raw, _ in rows))
    ids, tag_keys = api.ctx.store.remembered(
        ("gh-page-tag-ids", tenant_id, raws), lambda: _tag_keys(api, tenant_id, raws)
    )
    out: list[str] = []
    memo_get = _memo.get
    for raw_tags, values in rows:
        key = (base, raw_tags, values, tag_keys[raw_tags])
        text = memo_get(key)
        if text is None:
            tags = _tag_names(raw_tags)
            text = dumps(render_ticket(base, dict(zip(_NAMES, json.loads(values), strict=True)), ids, list(tags)))
            with _lock:
                if len(_memo) >= CAPACITY:
                    _memo.clear()
                _memo[key] = text
        out.append(text)
    return out


def list_response(field: str, items: list[str], meta: dict[str, Any]) -> Response:
    """``JSONResponse({field: [...items], "meta": meta})`` from already-encoded items."""
    body = f'{{"{field}":[{",".join(items)}],"meta":{dumps(meta)}}}'
    return Response(body.encode("utf-8"), media_type="application/json")


def clear() -> None:
    with _lock:
        _memo.clear()
