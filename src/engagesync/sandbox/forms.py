"""Form bodies and query strings as Rails decodes them, for the emulated APIs whose vendors run Rails
(Groove, GrowthGenius): ``tags[]=a&tags[]=b`` is a list, ``from[email]=x`` a nested object."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl


def rails_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            listed = out.setdefault(key[:-2], [])
            if isinstance(listed, list):
                listed.append(value)
        elif "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            nested = out.setdefault(outer, {})
            if isinstance(nested, dict):
                nested[inner] = value
        else:
            out[key] = value
    return out


def rails_form(text: str) -> dict[str, Any]:
    """A urlencoded body (or query string), decoded the Rails way."""
    return rails_pairs(parse_qsl(text, keep_blank_values=True))
