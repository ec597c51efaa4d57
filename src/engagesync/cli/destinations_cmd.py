"""``engagesync destinations ...`` and ``engagesync run``: thin commands over sync/destinations."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from .common import DEFAULT_STORE, OK, PARTIAL, JsonOpt, StoreOpt, TimeoutOpt, emit_json, err, fail, lazy, out

if TYPE_CHECKING:
    from ..sync import destinations as dest
    from ..sync.destinations import rejects as dest_rejects
    from ..sync.destinations.preview import sample
    from ..sync.store import Store
else:  # imported when a command uses them: the rest of the CLI carries no destination engine
    dest = lazy("engagesync.sync.destinations")
    dest_rejects = lazy("engagesync.sync.destinations.rejects")
    sample = lazy("engagesync.sync.destinations.preview", "sample")
    Store = lazy("engagesync.sync.store", "Store")

app = typer.Typer(help="Saved destinations: configure, preview, test, activate (Nexla's Groove destination).")

NameArg = Annotated[str, typer.Argument(help="Destination name.")]

# -- the configuration options (create and edit) ----------------------------------------------------
ConnectionOpt = Annotated[str | None, typer.Option("--connection", help="Connection (credential) to send with.")]
SourceOpt = Annotated[
    str | None,
    typer.Option(
        "--source", help="duckdb::schema.table (a table or view of the store), 'sql:SELECT ...', or a CSV/JSONL file."
    ),
]
TemplateOpt = Annotated[str | None, typer.Option("--template", help="Endpoint template (see `engagesync actions`).")]
MethodOpt = Annotated[str | None, typer.Option("--method", help="Manual: GET, POST, PUT, PATCH or DELETE.")]
UrlOpt = Annotated[
    str | None, typer.Option("--url", help="Manual: URL, relative to the connection's base URL, with {field}s.")
]
FormatOpt = Annotated[str | None, typer.Option("--format", help="Manual content format: json, form, xml or text.")]
HeaderOpt = Annotated[
    list[str] | None, typer.Option("--header", help="Manual: NAME:VALUE, or Nexla's h1:v1,h2:v2 (repeatable).")
]
ExcludeOpt = Annotated[list[str] | None, typer.Option("--exclude", help="Attribute left out of the call (repeatable).")]
MapOpt = Annotated[list[str] | None, typer.Option("--map", help="TO=FROM, as for push (repeatable).")]
KeyOpt = Annotated[str | None, typer.Option("--key", help="Column identifying a record (default: a row hash).")]
BatchingOpt = Annotated[bool | None, typer.Option("--batching/--no-batching", help="Batch records together.")]
BatchSizeOpt = Annotated[int | None, typer.Option("--batch-size", min=1, help="Records per call at most (100).")]
GroupingOpt = Annotated[
    str | None, typer.Option("--grouping", help="Grouping algorithm: fixed, by_attribute or max_bytes.")
]
GroupByOpt = Annotated[str | None, typer.Option("--group-by", help="by_attribute: the attribute.")]
MaxBytesOpt = Annotated[int | None, typer.Option("--max-bytes", help="max_bytes: the body's byte budget.")]
WrapOpt = Annotated[
    str | None, typer.Option("--wrap", help="Manual batches: wrap the records under this key (default: an array).")
]
ResponsesOpt = Annotated[
    bool | None, typer.Option("--responses/--no-responses", help="Keep every API response as NAME.responses.")
]
ResponsesUrlOpt = Annotated[
    str | None, typer.Option("--responses-url", help="Also POST each response here, signed ('' to stop).")
]
ResponseHeaderOpt = Annotated[
    list[str] | None, typer.Option("--response-header", help="Response header kept with each response (repeatable).")
]
FromFileOpt = Annotated[Path | None, typer.Option("--from-file", help="A YAML configuration (as `show` prints).")]


def _options(**given: Any) -> dict[str, Any]:
    headers = given.pop("header")
    given["headers"] = dest.parse_headers(headers) if headers else None
    return given


def _from_file(path: Path) -> dest.DestinationConfig:
    try:
        text = path.read_text()
    except OSError as exc:
        fail(f"--from-file {path}: {exc.strerror or exc}")
    return dest.from_yaml(text, str(path))


@app.command("create")
def create(
    name: NameArg,
    connection: ConnectionOpt = None,
    source: SourceOpt = None,
    template: TemplateOpt = None,
    method: MethodOpt = None,
    url: UrlOpt = None,
    format_: FormatOpt = None,
    header: HeaderOpt = None,
    exclude: ExcludeOpt = None,
    map_: MapOpt = None,
    key: KeyOpt = None,
    batching: BatchingOpt = None,
    batch_size: BatchSizeOpt = None,
    grouping: GroupingOpt = None,
    group_by: GroupByOpt = None,
    max_bytes: MaxBytesOpt = None,
    wrap: WrapOpt = None,
    responses: ResponsesOpt = None,
    responses_url: ResponsesUrlOpt = None,
    response_header: ResponseHeaderOpt = None,
    from_file: FromFileOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Save a destination (inactive until `activate`). Prints its webhook signing secret once (never in
    --json; `destinations secret NAME` prints it again)."""
    base = _from_file(from_file) if from_file else None
    if base is None:
        missing = [flag for flag, value in (("--connection", connection), ("--source", source)) if not value]
        if missing:
            fail(f"create {name}: {' and '.join(missing)} required (or --from-file with a YAML configuration)")
        if not template and not (method or url):
            fail(f"create {name}: give --template, or --method and --url for a manual configuration")
    if method and not url and not base:
        fail(f"create {name}: --method needs --url")
    if template and (method or url or format_ or header):
        fail(
            f"create {name}: give --template or a manual configuration (--method, --url, --format, --header), not both"
        )
    options = _options(
        connection=connection, source=source, template=template, method=method, url=url, format=format_,
        header=header, exclude=exclude, map=map_, key=key, batching=batching, batch_size=batch_size,
        grouping=grouping, group_by=group_by, max_bytes=max_bytes, wrap=wrap, responses=responses,
        responses_url=responses_url, response_headers=response_header,
    )  # fmt: skip
    config = dest.apply_options(base, options)
    with Store(store) as db:
        saved, secret = dest.create(db, name, config)
    if as_json:
        emit_json(saved.summary())
        return
    out.print(f"created destination {name} (version 1, inactive): {saved.summary()['endpoint']}")
    out.print(f"webhook signing secret (to verify response webhooks; `destinations secret {name}`): {secret}")
    out.print(f"next: `engagesync destinations preview {name}`, `test {name}`, `activate {name}`")


@app.command("edit")
def edit(
    name: NameArg,
    connection: ConnectionOpt = None,
    source: SourceOpt = None,
    template: TemplateOpt = None,
    method: MethodOpt = None,
    url: UrlOpt = None,
    format_: FormatOpt = None,
    header: HeaderOpt = None,
    exclude: ExcludeOpt = None,
    map_: MapOpt = None,
    key: KeyOpt = None,
    batching: BatchingOpt = None,
    batch_size: BatchSizeOpt = None,
    grouping: GroupingOpt = None,
    group_by: GroupByOpt = None,
    max_bytes: MaxBytesOpt = None,
    wrap: WrapOpt = None,
    responses: ResponsesOpt = None,
    responses_url: ResponsesUrlOpt = None,
    response_header: ResponseHeaderOpt = None,
    from_file: FromFileOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Change a destination: the options given (or a whole YAML with --from-file) make a new version."""
    options = _options(
        connection=connection, source=source, template=template, method=method, url=url, format=format_,
        header=header, exclude=exclude, map=map_, key=key, batching=batching, batch_size=batch_size,
        grouping=grouping, group_by=group_by, max_bytes=max_bytes, wrap=wrap, responses=responses,
        responses_url=responses_url, response_headers=response_header,
    )  # fmt: skip
    with Store(store) as db:
        current = dest.find(db, name)
        base = _from_file(from_file) if from_file else current.config
        saved = dest.edit(db, name, dest.apply_options(base, options))
    if as_json:
        emit_json(saved.summary())
        return
    changed = "saved as version" if saved.version != current.version else "unchanged, still version"
    out.print(f"destination {name}: {changed} {saved.version}")


@app.command("list")
def list_(store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """The saved destinations."""
    with Store(store) as db:
        found = dest.list_all(db)
    if as_json:
        emit_json([d.summary() for d in found])
        return
    table = Table(title="destinations")
    for column in ("name", "version", "connection", "endpoint", "source", "active", "every", "last run"):
        table.add_column(column)
    for d in found:
        s = d.summary()
        every = f"{d.every_seconds:g}s" if d.every_seconds else ""
        table.add_row(
            d.name, str(d.version), s["connection"], s["endpoint"], s["source"], "yes" if d.active else "no",
            every, str(d.last_run_at or ""),
        )  # fmt: skip
    out.print(table)


@app.command("show")
def show(name: NameArg, store: StoreOpt = DEFAULT_STORE, as_json: JsonOpt = False) -> None:
    """The saved configuration as YAML (secrets never included)."""
    with Store(store) as db:
        found = dest.find(db, name)
    if as_json:
        emit_json({**found.summary(), "config": found.config.to_data(redact=True)})
        return
    state = f"active, every {found.every_seconds:g}s" if found.active else "inactive"
    sys.stdout.write(f"# destination {name}, version {found.version}, {state}\n{found.config.to_yaml()}")


@app.command("secret")
def secret_(name: NameArg, store: StoreOpt = DEFAULT_STORE) -> None:
    """Print the secret the destination signs its response webhooks with, alone on stdout (for a
    receiver: `engagesync webhooks endpoint add NAME --secret "$(engagesync destinations secret NAME)"`)."""
    with Store(store) as db:
        value = dest.signing_secret(db, name)
    sys.stdout.write(value + "\n")


@app.command("delete")
def delete(name: NameArg, store: StoreOpt = DEFAULT_STORE) -> None:
    """Forget a destination (its responses table and delivery ledger are kept)."""
    with Store(store) as db:
        dest.delete(db, name)
    out.print(f"deleted destination {name}")


@app.command("preview")
def preview(
    name: NameArg,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Requests to show.")] = 3,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="Preview this YAML instead of the saved configuration.")
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """The first requests exactly as they would be sent (batching included, secrets redacted)."""
    config = _from_file(from_file) if from_file else None
    with Store(store) as db:
        result = dest.preview(db, name, config, limit=limit)
    if as_json:
        emit_json(result)
        return
    for i, request in enumerate(result["requests"], 1):
        lines = ", ".join(str(n) for n in request["lines"])
        out.print(f"[bold]request {i}[/bold] ({request['records']} record(s), source line(s) {lines})")
        sys.stdout.write(f"{request['method']} {request['url']}\n")
        for header, value in request["headers"].items():
            sys.stdout.write(f"{header}: {value}\n")
        sys.stdout.write(f"\n{request['body']}\n\n")
        sys.stdout.flush()
    for item in result["rejected"]:
        err.print(f"line {item['line']} would be rejected: {'; '.join(item['problems'])}", soft_wrap=True)
    if not result["requests"]:
        err.print("no request to show: the source has no valid record")


@app.command("test")
def test(
    name: NameArg,
    payload: Annotated[
        Path | None, typer.Option("--payload", help="JSON file: the sample record, edited, to send instead.")
    ] = None,
    edit_: Annotated[bool, typer.Option("--edit", help="Edit the sample record in $EDITOR before sending.")] = False,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="Test this YAML before saving it (nothing is written to the store)."),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send one sample and show the request and the response. An edited sample is not a delivery."""
    record: dict[str, Any] | None = None
    config = _from_file(from_file) if from_file else None
    with Store(store) as db:
        if payload is not None:
            record = _read_payload(payload)
        elif edit_:
            record = _edit(sample(db, name, config=config))
        result = dest.test_send(db, name, payload=record, config=config, timeout=timeout)
    if as_json:
        emit_json(result)
    else:
        out.print_json(json.dumps(result, default=str))
    status = result.get("response", {}).get("status")
    raise typer.Exit(OK if isinstance(status, int) and status < 400 else PARTIAL)


def _read_payload(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        fail(f"--payload {path}: {exc.strerror or exc}")
    except json.JSONDecodeError as exc:
        fail(f"--payload {path}: not JSON (line {exc.lineno}: {exc.msg})")
    if not isinstance(data, dict):
        fail(f"--payload {path}: expected one JSON object (a record)")
    return data


def _edit(sample: dict[str, Any]) -> dict[str, Any] | None:
    """The sample in $EDITOR; ``None`` when left unchanged (then the test is an ordinary delivery)."""
    original = json.dumps(sample, indent=2, default=str) + "\n"
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        handle.write(original)
        path = Path(handle.name)
    try:
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        if subprocess.call([*shlex.split(editor), str(path)]) != 0:
            fail(f"the editor ({editor}) failed; nothing sent")
        text = path.read_text()
    finally:
        path.unlink(missing_ok=True)
    if text == original:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"edited sample: not JSON (line {exc.lineno}: {exc.msg}); nothing sent")
    if not isinstance(data, dict):
        fail("edited sample: expected one JSON object (a record); nothing sent")
    return data


@app.command("activate")
def activate(
    name: NameArg,
    every: Annotated[str | None, typer.Option("--every", help="Interval between deliveries: 30s, 5m, 1h.")] = None,
    store: StoreOpt = DEFAULT_STORE,
) -> None:
    """Deliver new source rows on a schedule (`engagesync run` does the delivering)."""
    with Store(store) as db:
        found = dest.activate(db, name, dest.parse_interval(every) if every else None)
    out.print(f"destination {name} active: `engagesync run` delivers it every {found.every_seconds:g}s")


@app.command("deactivate")
def deactivate(name: NameArg, store: StoreOpt = DEFAULT_STORE) -> None:
    """Stop delivering (what was delivered stays in the ledger; activating again resumes)."""
    with Store(store) as db:
        dest.deactivate(db, name)
    out.print(f"destination {name} inactive: nothing is sent until it is activated again")


@app.command("run")
def run(
    name: NameArg,
    store: StoreOpt = DEFAULT_STORE,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Deliver what is new in the source once, now (active or not)."""
    with Store(store) as db:
        result = dest.deliver(db, name, timeout=timeout)
    if as_json:
        emit_json(result.to_dict())
    else:
        out.print(result.line())
    raise typer.Exit(PARTIAL if result.counts.get("rejected") else OK)


@app.command("runs")
def runs(
    name: NameArg,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 20,
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
) -> None:
    """Delivery history: counts, rejects, duration."""
    with Store(store) as db:
        found = [r.to_dict() for r in dest.runs(db, name, limit)]
    if as_json:
        emit_json(found)
        return
    table = Table(title=f"runs of {name}")
    columns = ("id", "kind", "started_at", "status", "read", "done", "skipped", "rejected", "responses", "seconds")
    for column in columns:
        table.add_column(column)
    for r in found:
        table.add_row(
            *(str(r.get(c, "")) for c in columns[:-1]),
            "" if r["duration_seconds"] is None else f"{r['duration_seconds']:.2f}",
        )
    out.print(table)


@app.command("rejects")
def rejects(
    name: NameArg,
    retry: Annotated[
        bool, typer.Option("--retry", help="Send the open rejects again (after fixing the cause).")
    ] = False,
    dismiss: Annotated[
        list[str] | None,
        typer.Option("--dismiss", help="Close a reject without sending it: its id (repeatable), or 'all'."),
    ] = None,
    store: StoreOpt = DEFAULT_STORE,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The destination's open rejects (line, field, reason); --retry sends them again with the settings of
    the run that filed them, --dismiss closes them (the console's Retry and Dismiss do the same)."""
    if retry and dismiss:
        fail("give --retry or --dismiss, not both")
    with Store(store) as db:
        if dismiss:
            ids = None if [d.strip().lower() for d in dismiss] == ["all"] else [_reject_id(d) for d in dismiss]
            closed = dest_rejects.dismiss(db, name, ids)
            emit_json({"dismissed": closed}) if as_json else out.print(f"dismissed {closed} reject(s) of {name}")
            return
        if retry:
            counts = dest_rejects.retry(db, name, timeout=timeout)
            emit_json(counts) if as_json else out.print(
                f"retried {name}: {counts.get('done', 0)} done, {counts.get('rejected', 0)} rejected again"
            )
            raise typer.Exit(PARTIAL if counts.get("rejected") else OK)
        found = dest_rejects.open_rejects(db, name)
    if as_json:
        emit_json([{"id": r.id, "key": r.key, "field": r.field, "reason": r.reason, "record": r.record} for r in found])
        return
    table = Table(title=f"open rejects of {name}")
    for column in ("id", "field", "reason"):
        table.add_column(column)
    for r in found:
        table.add_row(str(r.id), r.field or "", r.reason or "")
    out.print(table)


def _reject_id(text: str) -> int:
    if not text.strip().isdigit():
        fail(f"--dismiss takes a reject id or 'all' (got {text!r})")
    return int(text)


def worker(
    store: StoreOpt = DEFAULT_STORE,
    once: Annotated[bool, typer.Option("--once", help="One pass over the destinations due now, then exit.")] = False,
    idle: Annotated[float, typer.Option("--idle", min=0.05, help="Longest sleep between passes (seconds).")] = 1.0,
    timeout: TimeoutOpt = None,
) -> None:
    """Deliver for every active destination on its schedule; SIGTERM stops after the current window."""
    progress = None
    if os.environ.get("ENGAGESYNC_PROGRESS") == "lines":

        def progress(name: str, counts: dict[str, Any]) -> None:
            _log(f"progress {name}: {counts['read']} read, {counts['done']} done, {counts['rejected']} rejected")

    w = dest.Worker(store, _log, progress=progress, idle=idle, timeout=timeout)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: w.stop())
    w.run(once=once)


def _log(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
