"""A Starlette router that remembers which route answered a path, so a hot path is one regex match.

Starlette's ``Router`` tries its routes in order, a regex per route, on every request: ``GET /tickets``
of the Groove helpdesk app came after 14 misses. Which route fully matches depends only on the route
path and method (``Route`` and ``Mount`` match on nothing else), so the first full match found is
remembered under (path, method) and tried first next time; a remembered route that no longer matches
fully, a partial match (405) or no match falls back to Starlette's own loop, unchanged.
"""

from __future__ import annotations

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Host, Match, Router
from starlette.types import Receive, Scope, Send

#: (path, method) pairs remembered; cleared when full (paths carry ticket numbers, emails...).
CAPACITY = 1024


class RememberingRouter(Router):
    def __init__(self, routes: list[BaseRoute], redirect_slashes: bool = True) -> None:
        super().__init__(routes=routes, redirect_slashes=redirect_slashes)
        self._full: dict[tuple[str, str], BaseRoute] = {}
        #: a ``Host`` route matches on a header, not the path: nothing to remember then
        self._memo = not any(isinstance(route, Host) for route in self.routes)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._memo:
            await super().app(scope, receive, send)
            return
        key = (get_route_path(scope), scope["method"])
        route = self._full.get(key)
        if route is None:
            route = next((r for r in self.routes if r.matches(scope)[0] is Match.FULL), None)
            if route is None:
                await super().app(scope, receive, send)
                return
            if len(self._full) >= CAPACITY:
                self._full.clear()
            self._full[key] = route
        match, child_scope = route.matches(scope)
        if match is not Match.FULL:  # routes changed under us: Starlette decides
            self._full.pop(key, None)
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
