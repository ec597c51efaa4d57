"""The console's routes: pages rendered from Jinja2 templates, small JSON endpoints for the live parts.

Every handler calls the engine the CLI calls (``sync.destinations``, ``sync.connectors``,
``sync.pull``, the store); an error of any kind becomes a message on the page (JSON: ``{"error"}``),
never a stack trace. Engine calls run one at a time in a worker thread (one DuckDB file, opened per
call, so ``engagesync run`` or the CLI can use it between calls); while a Pull now job runs, they
use the job's open store instead (see ``console.jobs`` for why).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..client.errors import AuthError, EngageSyncError, TransportError
from ..errors import UserError
from ..sandbox.remote import SandboxAdmin, parse_rules
from ..sync import connectors
from ..sync import destinations as dest
from ..sync.connections import ConnectionFileError, ConnectionStore
from ..sync.destinations import rejects as dest_rejects
from ..sync.destinations import storage as dest_storage
from ..sync.destinations.model import FORMATS, GROUPINGS, METHODS
from ..sync.destinations.preview import sample
from ..sync.store import Store
from .forms import (
    config_from_form,
    edited_sample,
    form_name,
    form_values,
    number_field,
    posted_values,
    saved_or_form_config,
)
from .jobs import PullJobs
from .security import COOKIE, CSRF_FIELD, CSRF_HEADER, Guard

HERE = Path(__file__).parent
Handler = Callable[[Request], Awaitable[Response]]


async def read_form(request: Request) -> FormData:
    """The posted urlencoded form (read once per request; no multipart: the console's forms have no files)."""
    cached = getattr(request.state, "form", None)
    if cached is None:
        body = (await request.body()).decode("utf-8", "replace")
        pairs: list[tuple[str, str | Any]] = parse_qsl(body, keep_blank_values=True)
        cached = FormData(pairs)
        request.state.form = cached
    return cached


def describe(exc: BaseException) -> str:
    """One line for the page: the engine's own message, or the kind of failure (no traceback)."""
    if isinstance(exc, AuthError):
        return f"the credential was refused ({exc.status}: {exc.reason})"
    if isinstance(exc, TransportError):
        return f"the API could not be reached ({exc})"
    if isinstance(exc, UserError | EngageSyncError | ConnectionFileError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


class Console:
    """The state one console serves: its store file, the sandbox it drives, its tokens."""

    def __init__(self, store: str, sandbox: str | None, guard: Guard) -> None:
        self.store_path, self.sandbox, self.guard = store, sandbox.rstrip("/") if sandbox else None, guard
        self.lock = threading.Lock()
        self.pulls = PullJobs(store, self.lock, describe)
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)

    # -- plumbing ------------------------------------------------------------------------------------
    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def locked() -> Any:
            with self.lock:
                return fn(*args, **kwargs)

        return await run_in_threadpool(locked)

    async def with_store(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def opened() -> Any:
            if self.pulls.shared is not None:  # a pull is running: read between its commits
                return fn(self.pulls.shared, *args, **kwargs)
            with Store(self.store_path) as db:
                return fn(db, *args, **kwargs)

        return await self.call(opened)

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("message", request.query_params.get("msg"))
        context.setdefault("error", request.query_params.get("err"))
        html = self.env.get_template(template).render(
            csrf=self.guard.csrf, sandbox=self.sandbox, store=self.store_path, path=request.url.path, **context
        )
        return HTMLResponse(html, status)

    @staticmethod
    def back(to: str, **query: str) -> RedirectResponse:
        return RedirectResponse(f"{to}?{urlencode(query)}" if query else to, 303)

    def connections(self) -> list[Any]:
        try:
            return ConnectionStore().all()
        except ConnectionFileError:
            return []

    # -- destinations --------------------------------------------------------------------------------
    async def destinations(self, request: Request) -> Response:
        found = await self.with_store(dest.list_all)
        templates = {c.name: sorted(connectors.actions_for(c)) for c in self.connections()}
        return self.page(request, "destinations.html", destinations=found, templates=templates)

    def _form_page(self, request: Request, name: str, saved: Any, values: dict[str, Any], **extra: Any) -> Response:
        connections = self.connections()
        actions = {c.name: sorted(connectors.actions_for(c)) for c in connections}
        return self.page(
            request,
            "destination.html",
            name=name,
            saved=saved,
            values=values,
            connections=[c.name for c in connections],
            actions=actions,
            methods=METHODS,
            formats=FORMATS,
            groupings=GROUPINGS,
            **extra,
        )

    async def new_destination(self, request: Request) -> Response:
        values = form_values(None)
        template = request.query_params.get("template")
        if template:
            values.update(mode="template", template=template)
        values["connection"] = request.query_params.get("connection", "")
        return self._form_page(request, "", None, values, runs=[], rejects=[], responses=[])

    async def destination(self, request: Request) -> Response:
        name = request.path_params["name"]

        def load(db: Store) -> dict[str, Any]:
            found = dest.find(db, name)
            items = dest_rejects.open_rejects(db, name)
            answers = list(dest_storage.responses(db, name)) if found.config.responses.enabled else []
            return {
                "saved": found,
                "runs": [r.to_dict() for r in dest.runs(db, name, 20)],
                "rejects": items,
                "responses": answers[-20:],
            }

        try:
            loaded = await self.with_store(load)
        except Exception as exc:
            return self.page(request, "message.html", 404, title="destination", error=describe(exc))
        saved = loaded.pop("saved")
        return self._form_page(request, name, saved, form_values(saved.config), **loaded)

    async def save(self, request: Request) -> Response:
        form = await read_form(request)
        name = str(form.get("name") or "").strip()
        original = str(form.get("original") or "")

        def saving(db: Store) -> str:
            if original:
                current = dest.find(db, original)
                saved = dest.edit(db, original, config_from_form(form, current.config))
                return f"saved {original}: version {saved.version}"
            dest.create(db, name, config_from_form(form))  # its signing secret is never put in a page or URL
            return (
                f"created {name} (inactive); `engagesync destinations secret {name}` prints its webhook signing secret"
            )

        try:
            message = await self.with_store(saving)
        except Exception as exc:
            values = posted_values(form)
            saved = None
            return self._form_page(
                request, original, saved, values, error=describe(exc), runs=[], rejects=[], responses=[],
                typed_name=name,
            )  # fmt: skip
        return self.back(f"/destinations/{original or name}", msg=message)

    async def preview(self, request: Request) -> Response:
        form = await read_form(request)
        name = form_name(form)
        limit = int(str(form.get("limit") or 3)) if str(form.get("limit") or "3").isdigit() else 3

        def previewing(db: Store) -> dict[str, Any]:
            config = saved_or_form_config(db, form)
            shown: dict[str, Any] = dest.preview(db, name, config, limit=limit)
            shown["responses"] = config.responses.model_dump(mode="json")  # what the response webhook keeps
            return shown

        try:
            result = await self.with_store(previewing)
        except Exception as exc:
            return JSONResponse({"error": describe(exc)})
        return JSONResponse(json.loads(json.dumps(result, default=str)))

    async def sample(self, request: Request) -> Response:
        try:
            record = await self.with_store(sample, request.path_params["name"])
        except Exception as exc:
            return JSONResponse({"error": describe(exc)})
        return JSONResponse({"sample": json.loads(json.dumps(record, default=str))})

    async def test(self, request: Request) -> Response:
        body = await request.json()
        try:
            payload = edited_sample(str(body.get("payload") or ""), str(body.get("original") or ""))
            result = await self.with_store(dest.test_send, request.path_params["name"], payload=payload)
        except Exception as exc:
            return JSONResponse({"error": describe(exc)})
        return JSONResponse(json.loads(json.dumps(result, default=str)))

    async def unsaved_sample(self, request: Request) -> Response:
        """The Test tab before Done: the sample under the form's current settings."""
        form = await read_form(request)
        try:
            record = await self.with_store(lambda db: sample(db, form_name(form), None, saved_or_form_config(db, form)))
        except Exception as exc:
            return JSONResponse({"error": describe(exc)})
        return JSONResponse({"sample": json.loads(json.dumps(record, default=str))})

    async def unsaved_test(self, request: Request) -> Response:
        """The Test tab before Done: send under the form's current settings (the engine's ``test_send``
        with a config; nothing is saved)."""
        form = await read_form(request)
        try:
            payload = edited_sample(str(form.get("test_payload") or ""), str(form.get("test_original") or ""))
            result = await self.with_store(
                lambda db: dest.test_send(db, form_name(form), payload=payload, config=saved_or_form_config(db, form))
            )
        except Exception as exc:
            return JSONResponse({"error": describe(exc)})
        return JSONResponse(json.loads(json.dumps(result, default=str)))

    async def act(self, request: Request) -> Response:
        """Activate, deactivate, run now, delete, retry or dismiss rejects (a form post each)."""
        name, what = request.path_params["name"], request.path_params["action"]
        form = await read_form(request)
        to = f"/destinations/{name}"

        def doing(db: Store) -> str:
            if what == "activate":
                every = str(form.get("every") or "").strip()
                found = dest.activate(db, name, dest.parse_interval(every) if every else None)
                return f"{name} active: `engagesync run` delivers it every {found.every_seconds:g}s"
            if what == "deactivate":
                dest.deactivate(db, name)
                return f"{name} inactive: nothing is sent until it is activated again"
            if what == "run":
                return dest.deliver(db, name).line()
            if what == "delete":
                dest.delete(db, name)
                return f"deleted destination {name}"
            if what == "retry":
                counts = dest_rejects.retry(db, name)
                return f"retried: {counts['done']} done, {counts['rejected']} rejected again"
            if what == "dismiss":
                ids = [int(str(i)) for i in form.getlist("id") if str(i).isdigit()]
                closed = dest_rejects.dismiss(db, name, ids or None)
                return f"{closed} reject(s) dismissed"
            raise UserError(f"unknown action {what!r}")

        try:
            message = await self.with_store(doing)
        except Exception as exc:
            return self.back(to, err=describe(exc))
        return self.back("/destinations" if what == "delete" else to, msg=message)

    # -- connections and streams ---------------------------------------------------------------------
    async def connections_page(self, request: Request) -> Response:
        try:
            items = [c.public() for c in ConnectionStore().all()]
            path = str(ConnectionStore().path)
        except ConnectionFileError as exc:
            return self.page(request, "connections.html", connections=[], file="", error=describe(exc))
        return self.page(request, "connections.html", connections=items, file=path)

    async def connection_check(self, request: Request) -> Response:
        name = str((await read_form(request)).get("name") or "")

        def checking() -> dict[str, Any]:
            connection = ConnectionStore().get(name)
            with connectors.client_for(connection) as client:
                return connectors.check(connection, client)

        try:
            result = await self.call(checking)
        except Exception as exc:
            return self.back("/connections", err=f"{name}: {describe(exc)}")
        return self.back("/connections", msg=f"ok {name}: {result}")

    async def connect_sandbox(self, request: Request) -> Response:
        url = str((await read_form(request)).get("url") or self.sandbox or "").strip()

        def connecting() -> list[str]:
            store = ConnectionStore()
            made = connectors.connections_from_sandbox(url)
            for connection in made:
                store.put(connection)
            return [c.name for c in made]

        try:
            names = await self.call(connecting)
        except Exception as exc:
            return self.back("/connections", err=describe(exc))
        return self.back("/connections", msg=f"saved connections {', '.join(names)} from {url}")

    async def streams(self, request: Request) -> Response:
        chosen = request.query_params.get("connection")
        connections = self.connections()
        connection = next((c for c in connections if c.name == chosen), connections[0] if connections else None)
        rows: list[dict[str, Any]] = []
        if connection is not None:
            names = list(connectors.streams_for(connection))

            def reading(db: Store) -> list[dict[str, Any]]:
                states = db.states(connection.name)
                return [
                    {
                        "stream": s,
                        "rows": db.count(connection.name, s),
                        "state": "complete"
                        if (states.get(s) or {}).get("complete")
                        else ("in progress" if states.get(s) else "not pulled"),
                        "last_run": (states.get(s) or {}).get("completed_at") or "",
                    }
                    for s in names
                ]

            try:
                rows = await self.with_store(reading)
            except Exception as exc:
                return self.page(request, "streams.html", connections=[], chosen=None, rows=[], error=describe(exc))
        asked = request.query_params.get("job", "")
        job = self.pulls.jobs.get(int(asked)) if asked.isdigit() else None
        return self.page(
            request,
            "streams.html",
            connections=[c.name for c in connections],
            chosen=connection.name if connection else None,
            rows=rows,
            job=job or self.pulls.running(),
        )

    async def stream_rows(self, request: Request) -> Response:
        name, stream = request.path_params["connection"], request.path_params["stream"]

        def reading(db: Store) -> tuple[list[str], list[list[Any]]]:
            from ..sync.store.base import table_for

            names, rows = next(iter(db.iter_query(f"SELECT * FROM {table_for(name, stream)} LIMIT 20", [])), ([], []))
            return list(names), [[str(v) for v in row] for row in rows]

        try:
            columns, rows = await self.with_store(reading)
        except Exception as exc:
            return self.back("/streams", connection=name, err=describe(exc))
        return self.page(request, "rows.html", connection=name, stream=stream, columns=columns, rows=rows)

    async def pull_now(self, request: Request) -> Response:
        """Start the pull in the background (``console.jobs``) and return to the streams page at once;
        console.js polls ``/api/pulls/{job}`` for its progress."""
        form = await read_form(request)
        name, stream = str(form.get("connection") or ""), str(form.get("stream") or "") or None
        job, started = self.pulls.start(name, stream)
        if not started:
            return self.back(
                "/streams", connection=name, job=str(job.id),
                err=f"a pull is already running ({job.line()}); wait for it to finish",
            )  # fmt: skip
        return self.back("/streams", connection=name, job=str(job.id))

    async def pull_status(self, request: Request) -> Response:
        job = self.pulls.jobs.get(int(request.path_params["job"]))
        if job is None:
            return JSONResponse({"error": f"no pull job {request.path_params['job']}"}, 404)
        return JSONResponse(job.to_dict())

    # -- webhook sources -----------------------------------------------------------------------------
    async def webhooks(self, request: Request) -> Response:
        from ..sync.webhooks.endpoints import EndpointFile

        def reading(db: Store) -> list[dict[str, Any]]:
            return [
                {**endpoint.public(), "events": _latest_events(db, name)}
                for name, endpoint in EndpointFile().current().items()
            ]

        try:
            items = await self.with_store(reading)
        except Exception as exc:
            return self.page(request, "webhooks.html", endpoints=[], error=describe(exc))
        return self.page(request, "webhooks.html", endpoints=items, pretty=_pretty)

    # -- the sandbox ---------------------------------------------------------------------------------
    def _admin(self) -> SandboxAdmin:
        if not self.sandbox:
            raise UserError("no sandbox attached: start the console with --sandbox URL")
        return SandboxAdmin(self.sandbox)

    async def sandbox_page(self, request: Request) -> Response:
        def reading() -> dict[str, Any]:
            admin = self._admin()
            return {
                "clock": admin.clock(),
                "faults": admin.faults(),
                "limits": admin.rate_limits(),
                "journal": admin.journal(30),
            }

        try:
            state = await run_in_threadpool(reading)
        except Exception as exc:
            return self.page(request, "sandbox.html", state=None, error=describe(exc))
        return self.page(request, "sandbox.html", state=state, pretty=_pretty)

    async def journal(self, request: Request) -> Response:
        try:
            entries = await run_in_threadpool(lambda: self._admin().journal(30))
        except Exception as exc:
            return JSONResponse({"error": describe(exc)})
        return JSONResponse({"entries": entries})

    async def sandbox_act(self, request: Request) -> Response:
        """The sandbox's controls: the same SandboxAdmin calls as `engagesync sandbox clock|faults|rate-limit`."""
        what = request.path_params["action"]
        form = await read_form(request)

        def doing() -> str:
            admin = self._admin()
            if what in ("freeze", "unfreeze"):
                admin.freeze(what == "freeze")
                return f"clock: {what}"
            if what == "advance":
                seconds = number_field(form, "seconds", float, "0")
                admin.advance(seconds)
                return f"clock advanced {seconds:g} s"
            if what == "faults":
                rules = parse_rules(str(form.get("rules") or ""))
                admin.set_faults(rules)
                return f"{len(rules)} fault rule(s) set"
            if what == "rate-limit":
                api = str(form.get("api") or "")
                limit = str(form.get("limit") or "").strip()
                if not limit:
                    admin.set_rate_limit(api, None)
                    return f"{api}: rate limit off"
                window = number_field(form, "window_seconds", float, "60")
                admin.set_rate_limit(api, number_field(form, "limit", int), window)
                return f"{api}: {limit} requests per {window:g} s"
            raise UserError(f"unknown sandbox action {what!r}")

        try:
            message = await run_in_threadpool(doing)
        except ValueError as exc:
            return self.back("/sandbox", err=f"{what}: {exc}")
        except Exception as exc:
            return self.back("/sandbox", err=describe(exc))
        return self.back("/sandbox", msg=message)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


def _latest_events(db: Store, endpoint: str) -> list[dict[str, Any]]:
    from ..sync.webhooks.storage import EventStore

    try:
        table = EventStore(db).table(endpoint)
        names, rows = next(iter(db.iter_query(f"SELECT * FROM {table} ORDER BY 1 DESC LIMIT 10", [])), ([], []))
    except Exception:  # no event received yet: the table is created by the first one
        return []
    return [{n: _text(v)[:200] for n, v in zip(names, row, strict=True)} for row in rows]


def _text(value: Any) -> str:
    """A stored value as the page shows it: the raw body as text, not Python's ``b'...'``."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else str(value)


STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def create_app(store: str, sandbox: str | None = None, guard: Guard | None = None) -> Starlette:
    """The console's application: every route behind the access token, every post behind the CSRF token."""
    guard = guard or Guard()
    console = Console(store, sandbox, guard)

    async def index(request: Request) -> Response:
        return RedirectResponse("/destinations", 303)

    async def static(request: Request) -> Response:
        path = HERE / "static" / request.path_params["file"]
        if path.suffix not in STATIC_TYPES or not path.is_file() or path.parent != HERE / "static":
            return console.page(request, "message.html", 404, title="not found", error="no such file")
        return Response(path.read_bytes(), media_type=STATIC_TYPES[path.suffix])

    def guarded(handler: Handler) -> Handler:
        async def gate(request: Request) -> Response:
            if not guard.host_ok(request):
                return console.page(request, "message.html", 403, title="forbidden", error="unknown Host header")
            given = request.query_params.get("token")
            if given is not None:
                if not guard.token_ok(given):
                    return _forbidden(console, request)
                rest = {k: v for k, v in request.query_params.items() if k != "token"}
                response = RedirectResponse(request.url.path + (f"?{urlencode(rest)}" if rest else ""), 303)
                response.set_cookie(COOKIE, guard.token, httponly=True, samesite="strict")
                return response
            if not guard.authorized(request):
                return _forbidden(console, request)
            if request.method == "POST" and not guard.csrf_ok(request.headers.get(CSRF_HEADER)):
                form = await read_form(request)  # cached on the request: the handler reads the same form
                if not guard.csrf_ok(str(form.get(CSRF_FIELD) or "")):
                    return console.page(
                        request, "message.html", 403, title="forbidden",
                        error="the form's CSRF token is missing or stale; reload the page",
                    )  # fmt: skip
            try:
                return await handler(request)
            except Exception as exc:  # the last net: a message, never a traceback
                return console.page(request, "message.html", 500, title="error", error=describe(exc))

        return gate

    table: list[tuple[str, Handler, list[str]]] = [
        ("/", index, ["GET"]),
        ("/static/{file}", static, ["GET"]),
        ("/destinations", console.destinations, ["GET"]),
        ("/destinations/new", console.new_destination, ["GET"]),
        ("/destinations/save", console.save, ["POST"]),
        ("/destinations/{name}", console.destination, ["GET"]),
        ("/destinations/{name}/{action}", console.act, ["POST"]),
        ("/api/preview", console.preview, ["POST"]),
        ("/api/destinations/{name}/sample", console.sample, ["GET"]),
        ("/api/destinations/{name}/test", console.test, ["POST"]),
        ("/api/sample", console.unsaved_sample, ["POST"]),
        ("/api/test", console.unsaved_test, ["POST"]),
        ("/connections", console.connections_page, ["GET"]),
        ("/connections/check", console.connection_check, ["POST"]),
        ("/connections/sandbox", console.connect_sandbox, ["POST"]),
        ("/streams", console.streams, ["GET"]),
        ("/streams/pull", console.pull_now, ["POST"]),
        ("/api/pulls/{job:int}", console.pull_status, ["GET"]),
        ("/streams/{connection}/{stream}", console.stream_rows, ["GET"]),
        ("/webhooks", console.webhooks, ["GET"]),
        ("/sandbox", console.sandbox_page, ["GET"]),
        ("/sandbox/{action}", console.sandbox_act, ["POST"]),
        ("/api/sandbox/journal", console.journal, ["GET"]),
    ]
    return Starlette(routes=[Route(path, guarded(fn), methods=methods) for path, fn, methods in table])


def _forbidden(console: Console, request: Request) -> Response:
    return console.page(
        request,
        "message.html",
        403,
        title="forbidden",
        error="a valid access token is required: open the URL `engagesync console` printed (with ?token=...)",
    )
