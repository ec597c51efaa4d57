"""uvicorn's fast stack (uvloop event loop, httptools HTTP parser) where both are importable: the
sandbox serves a page at several times the pure-Python stack's rate, and the bench's bare baseline
runs on the same stack so the ratio compares the handlers, not the servers."""

from __future__ import annotations

import importlib.util


def fast_stack() -> dict[str, str]:
    """uvicorn ``Config`` keyword arguments: ``{"loop": "uvloop", "http": "httptools"}``, each only if
    its package is installed (both are dependencies; a platform without wheels falls back)."""
    options: dict[str, str] = {}
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "httptools"
    return options
