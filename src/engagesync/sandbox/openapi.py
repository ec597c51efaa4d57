"""The OpenAPI documents REST emulators publish at ``<prefix>/openapi.json`` (DESIGN.md, sandbox contract).

An API room keeps its document as ``openapi.yaml`` beside its code; the engine loads it once and serves
it as JSON with ``servers`` pointing at the base the caller reached, so a generated client or a fuzzer
talks to this sandbox (in-process, loopback or behind a proxy) rather than the vendor.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

#: The route path, relative to the API's prefix.
PATH = "/openapi.json"


@cache
def _load(spec: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(spec.read_text())
    return data


def document(spec: Path, base_url: str) -> dict[str, Any]:
    """The document in ``spec`` with its one server at ``base_url`` (a copy: callers may change it)."""
    doc = copy.deepcopy(_load(spec))
    doc["servers"] = [{"url": base_url}]
    return doc


def api_base(request: Request) -> str:
    """Absolute base of the API as the caller reached it, e.g. ``http://127.0.0.1:8765/growthgenius/...``."""
    url = request.url
    return f"{url.scheme}://{url.netloc}{request.scope.get('root_path', '')}"


def route(spec: Path) -> Route:
    """``GET /openapi.json`` serving ``spec``; the API lists it among its public paths."""

    async def openapi_document(request: Request) -> Response:
        return JSONResponse(document(spec, api_base(request)))

    return Route(PATH, openapi_document, methods=["GET"])


# -- holding a document to its emulator (the OpenAPI tests of every REST room) ---------------------------
METHODS = ("get", "put", "post", "patch", "delete")


def template(path: str) -> str:
    """``/tickets/{number:int}`` and ``/tickets/{number}`` -> ``/tickets/{}``: parameter names and types aside."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(METHOD, path) of every documented operation, in document order."""
    return [(m.upper(), path) for path, item in document["paths"].items() for m in item if m in METHODS]


def served_operations(routes: Iterable[BaseRoute]) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route an emulator serves; HEAD is Starlette's automatic twin of GET."""
    out: set[tuple[str, str]] = set()
    for route in routes:
        if not isinstance(route, Route):
            raise TypeError(f"only plain routes can be matched to a document, not {route!r}")
        out |= {(method, template(route.path)) for method in route.methods or () if method != "HEAD"}
    return out
