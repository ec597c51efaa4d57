"""The baseline: a bare Starlette endpoint serving fixed bytes (the same page the sandbox serves)."""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PAYLOAD = Path(os.environ.get("BENCH_PAYLOAD", "/dev/null")).read_bytes()


async def page(request: Request) -> Response:
    return Response(PAYLOAD, media_type="application/json")


app = Starlette(routes=[Route("/page", page)])
