"""Ticket lists as JSON text, each row's rendering remembered by everything it is made of.

A list page used to build 50 dicts and hand them to ``JSONResponse``: rendering and encoding were
half of a page's CPU time, repeated for rows that had not changed since the last read. Here each
row's JSON is a pure function of its key (the API base, the stored row with its joined names, and
its tag ids), so a remembered text can never be stale: a changed ticket, customer email, group name
or tag id makes a different key. The page is the join of those texts, byte for byte what
``JSONResponse`` would encode (its ``json.dumps`` settings; JSON encoding is compositional).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from .ticket_store import _tag_ids, _tags, render_ticket

if TYPE_CHECKING:
    from . import GrooveHelpdeskApi

#: Rows remembered (about 1 KB of text each); the whole memo is dropped when it fills, which keeps
#: the hot path to one dict lookup and a deep pull's memory flat.
CAPACITY = 4096

_memo: dict[tuple[Any, ...], str] = {}
_lock = threading.Lock()


def dumps(value: Any) -> str:
    """JSON text exactly as Starlette's ``JSONResponse.render`` writes it (before UTF-8 encoding)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


def rows_json(api: GrooveHelpdeskApi, tenant_id: int, base: str, rows: Sequence[sqlite3.Row]) -> list[str]:
    """Each ``TICKET_SELECT`` row rendered (``render_ticket``) and encoded, from the memo when it has it."""
    if not rows:
        return []
    keys = rows[0].keys()
    at_tags = keys.index("tags")
    values = [tuple(r) for r in rows]
    tag_lists = [_tags(v[at_tags]) for v in values]
    wanted = {name for tags in tag_lists for name in tags}
    ids = _tag_ids(api, tenant_id, wanted) if wanted else {}
    out: list[str] = []
    for value, tags in zip(values, tag_lists, strict=True):
        key = (base, value, tuple(ids[name] for name in tags if name in ids)) if tags else (base, value)
        text = _memo.get(key)
        if text is None:
            text = dumps(render_ticket(base, dict(zip(keys, value, strict=True)), ids, tags))
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
