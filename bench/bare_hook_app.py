"""The receiver's baseline: a bare Starlette endpoint that reads the body and answers 200 (no checks, no store)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def hook(request: Request) -> Response:
    await request.body()
    return Response(b'{"ok":true}', media_type="application/json")


async def health(request: Request) -> Response:
    return Response(b"ok")


app = Starlette(routes=[Route("/hooks/{name}/{token}", hook, methods=["POST"]), Route("/health", health)])
