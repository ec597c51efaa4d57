"""``RememberingRouter`` answers every request as Starlette's own ``Router`` does, on first and repeat visits."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route

from engagesync.sandbox.routing import RememberingRouter


def _echo(name: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{name} {request.method} {dict(request.path_params)}")

    return endpoint


def _routes() -> list[BaseRoute]:
    return [
        Route("/items", _echo("list"), methods=["GET"]),
        Route("/items", _echo("create"), methods=["POST"]),  # same path, another method: a second route
        Route("/items/count", _echo("count"), methods=["GET"]),  # literal before the parameter
        Route("/items/{number:int}", _echo("one"), methods=["GET", "DELETE"]),
        Route("/{anything}", _echo("catch-all"), methods=["GET"]),
        Mount("/sub", routes=[Route("/x/{y}", _echo("mounted"))]),
    ]


REQUESTS = [
    ("GET", "/items"),
    ("POST", "/items"),
    ("PUT", "/items"),  # 405 from the partial match
    ("GET", "/items/count"),
    ("GET", "/items/7"),
    ("GET", "/items/8"),
    ("DELETE", "/items/7"),
    ("PATCH", "/items/7"),
    ("GET", "/items/nope"),
    ("GET", "/other"),
    ("GET", "/sub/x/1"),
    ("GET", "/sub/x/2"),
    ("GET", "/no/such/path"),
    ("GET", "/items/"),
]


def _answers(app: Starlette) -> list[tuple[int, str, str]]:
    async def run() -> list[tuple[int, str, str]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            out = []
            for method, path in REQUESTS * 2:  # the second round comes from the memo
                r = await client.request(method, path)
                out.append((r.status_code, r.headers.get("allow", ""), r.text))
            return out

    return asyncio.run(run())


def test_same_answers_as_starlettes_router() -> None:
    for slashes in (True, False):
        plain = Starlette(routes=_routes())
        plain.router.redirect_slashes = slashes
        remembering = Starlette(routes=_routes())
        remembering.router = RememberingRouter(remembering.router.routes, redirect_slashes=slashes)
        assert _answers(remembering) == _answers(plain)
        assert isinstance(remembering.router, RememberingRouter) and remembering.router._full
