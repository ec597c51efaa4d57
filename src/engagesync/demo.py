"""The demo scenario: the main job end to end on an embedded sandbox, no credentials needed.

A script over the product, like the example files it pushes: it names the APIs it tours, which the
engines and the CLI never do (``engagesync demo`` in ``cli/demo.py`` only runs it).

It starts the sandbox on a loopback port, connects to it, pulls every Groove helpdesk stream into a
DuckDB file, pushes the example CSVs under ``examples/`` through several templates (one file has
deliberately bad rows that end as rejects), runs the push again to show nothing is created twice,
and prints what happened, including the webhooks the sandbox delivered for the new tickets. Then the
same for GrowthGenius: its streams pulled through ``updated_at`` windows, ``contacts.csv`` pushed twice.
Last Groove sales: connected through the OAuth authorization-code flow, flows/steps/labels/people
pulled over GraphQL, ``flow_members.csv`` (Salesforce ids) added to a flow with aliased mutations.
Then Volt, and finally a saved destination (seed 002): a table of new leads in the store, sent to Groove's
``tickets`` by a manual configuration, previewed, tested, activated, delivered by one worker pass,
with every API response kept as ``new_leads.responses`` and forwarded to a signed webhook.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from .apis.registry import emulator_factories
from .sandbox import Sandbox
from .sync import connectors
from .sync import destinations as dest
from .sync.connections import Connection, ConnectionStore
from .sync.mapping import Mapping
from .sync.pull import pull
from .sync.push import Pusher, PushResult
from .sync.readers import open_input
from .sync.store import Store, schema_for

console = Console()
#: The example CSVs, packaged with engagesync (src/engagesync/examples links to the repo's examples/).
EXAMPLES = Path(str(resources.files("engagesync") / "examples"))


def run(store: str, seed: int = 0, tickets: int = 200, examples: Path = EXAMPLES) -> bool:
    """Run the tour into ``store`` (replaced); True when every step behaved."""
    started = time.perf_counter()
    for suffix in ("", ".wal"):
        Path(store + suffix).unlink(missing_ok=True)
    with Sandbox(emulator_factories(), seed=seed) as sandbox:
        sandbox.reset(seed=seed, counts={"groove-helpdesk.tickets": tickets})
        sandbox.ctx.set_rate_limit("groove-helpdesk", None)
        url = sandbox.serve()
        creds = sandbox.credentials(base_url=url)["groove-helpdesk"]
        connection = Connection("groove-helpdesk", "groove-helpdesk", creds["base_url"], {"token": creds["token"]})
        console.rule("[bold]engagesync demo[/bold]: Groove helpdesk on a local sandbox")
        console.print(f"sandbox: [cyan]{url}[/cyan] ({tickets} seeded tickets)   store: [cyan]{store}[/cyan]")
        sink = f"{url}/_sandbox/sink/demo"
        httpx.post(
            f"{creds['base_url']}/webhooks",
            json={"event": "ticket_started", "url": sink},
            headers={"Authorization": f"Bearer {creds['token']}"},
        ).raise_for_status()
        with Store(store) as db, connectors.client_for(connection) as client:
            _pull(client, connection, db, "1. pull every stream into DuckDB")
            results = _push(client, connection, db, examples, _primary_mailbox(client))
            _rejects(db, connection, 3)
        delivered = httpx.get(sink).json()["received"]
        console.print(
            f"Webhooks: the sandbox delivered [bold]{len(delivered)}[/bold] ticket_started events "
            f"(raw ticket JSON) for the new tickets to {sink}"
        )
        gg_created = _growthgenius(sandbox, url, store, examples)
        gs_added = _groove_sales(sandbox, url, store, examples)
        volt_ok = _volt(sandbox, url, store)
        kept = _destination(sandbox, url, store)
    created = results[0].done
    console.print(
        f"\n[green bold]Demo finished[/green bold] in {time.perf_counter() - started:.1f}s: "
        f"{created} Groove tickets, {gg_created} GrowthGenius contacts and {gs_added} Groove sales flow "
        f"members pushed once each (the re-runs pushed nothing), rejects kept with their reasons, "
        f"everything pulled into {store}. Open it with: duckdb {store}"
    )
    console.print(f"The destination new_leads delivered {kept} leads; its responses: SELECT * FROM new_leads.responses")
    return volt_ok and kept > 0 and not (created == 0 or len(delivered) < created or gg_created == 0 or gs_added == 0)


def _primary_mailbox(client: Any) -> str:
    mailboxes = client.get_json("mailboxes")["mailboxes"]
    return str(next(m for m in mailboxes if m.get("primary"))["email"])


def _pull(client: Any, connection: Connection, db: Store, title: str, pages: str = "pages") -> None:
    """Pull every stream of ``connection`` and show what each wrote (``pages``: what a page is called)."""
    result = pull(client, connection.name, connectors.streams_for(connection), None, db)
    table = Table(title=f"{title} ({result.elapsed:.2f}s)")
    for column in ("stream", "records", pages, "requests", "table"):
        table.add_column(column)
    for s in result.streams.values():
        table.add_row(
            s.name, f"{s.records:,}", str(s.pages), str(s.requests), f"{schema_for(connection.name)}.{s.name}"
        )
    console.print(table)


def _push(client: Any, connection: Connection, db: Store, examples: Path, mailbox: str) -> list[PushResult]:
    actions = connectors.actions_for(connection)
    plans = [
        (
            "create_ticket",
            "tickets.csv",
            ["from.email=email", "from.name=name", "body=message", f"mailbox='{mailbox}'", "tags=split(tags)"],
        ),
        (
            "create_ticket",
            "tickets.csv",
            ["from.email=email", "from.name=name", "body=message", f"mailbox='{mailbox}'", "tags=split(tags)"],
        ),
        ("update_ticket_state", "ticket_states.csv", []),
        ("create_group", "groups.csv", ["agents=split(agents)"]),
    ]
    results: list[PushResult] = []
    table = Table(title="2. push the example CSVs through templates")
    for column in ("action", "input", "read", "created/updated", "already pushed", "rejected"):
        table.add_column(column)
    for name, file, maps in plans:
        spec = actions[name]
        pusher = Pusher(
            client, connection.name, spec, db, mapping=Mapping.parse(maps, passthrough=[f.name for f in spec.fields])
        )
        result = pusher.run(open_input(str(examples / file)))
        results.append(result)
        table.add_row(name, file, str(result.read), str(result.done), str(result.skipped), str(result.rejected))
    console.print(table)
    return results


def _rejects(db: Store, connection: Connection, step: int) -> None:
    table = Table(title=f"{step}. rejects (engagesync rejects {connection.name})")
    for column in ("action", "field", "reason"):
        table.add_column(column)
    for item in db.rejects(connection.name):
        table.add_row(item.action, item.field or "", item.reason or "")
    console.print(table)


# -- GrowthGenius ---------------------------------------------------------------------------------------
def _growthgenius(sandbox: Any, url: str, store: str, examples: Path) -> int:
    """Pull GrowthGenius (time-window streams) and push ``contacts.csv`` twice; returns contacts created."""
    sandbox.ctx.set_rate_limit("growthgenius", None)
    creds = sandbox.credentials(base_url=url)["growthgenius"]
    connection = Connection(
        "growthgenius", "growthgenius", creds["base_url"], {"api_key": creds["api_key"]}, {"user_id": creds["user_id"]}
    )
    console.rule("[bold]GrowthGenius[/bold]: key + user_id, updated_at windows, no dedupe upstream")
    with Store(store) as db, connectors.client_for(connection) as client:
        _pull(client, connection, db, "4. pull users, contacts and messages into DuckDB", pages="windows")
        spec = connectors.actions_for(connection)["create_contact"]
        table = Table(
            title="5. push examples/contacts.csv (create_contact; GrowthGenius would duplicate, the ledger does not)"
        )
        for column in ("run", "read", "created", "already pushed", "rejected"):
            table.add_column(column)
        runs = []
        for run in ("first", "again"):
            pushed = Pusher(client, connection.name, spec, db).run(open_input(str(examples / "contacts.csv")))
            runs.append(pushed)
            table.add_row(run, str(pushed.read), str(pushed.done), str(pushed.skipped), str(pushed.rejected))
        console.print(table)
        _rejects(db, connection, 6)
    return runs[0].done if runs[1].done == 0 else 0


# -- Groove sales ---------------------------------------------------------------------------------------
def _groove_sales(sandbox: Any, url: str, store: str, examples: Path) -> int:
    """OAuth connect, pull over GraphQL, push ``flow_members.csv`` into a flow twice; returns people added."""
    creds = sandbox.credentials(base_url=url)["groove-sales"]
    base_url, secrets, settings = connectors.from_sandbox("groove-sales", creds)  # the real code flow
    settings["salesforce_ids"] = "@" + str(examples / "flow_members.csv")
    connection = Connection("groove-sales", "groove-sales", base_url, secrets, settings)
    console.rule("[bold]Groove sales[/bold]: OAuth 2.0 code flow, GraphQL + Relay, aliased mutations")
    flow = creds["samples"]["flow_ids"][1]
    with Store(store) as db, connectors.client_for(connection) as client:
        _pull(client, connection, db, "7. pull flows, steps, label instances and people into DuckDB")
        spec = connectors.actions_for(connection)["add_person_to_flow"]
        mapping = Mapping.parse(["salesforceId=salesforce_id", f"flowId='{flow}'"])
        table = Table(
            title=f"8. push examples/flow_members.csv into flow {flow} (add_person_to_flow, 4 aliased "
            "mutations per request)"
        )
        for column in ("run", "read", "added", "already pushed", "rejected", "API requests"):
            table.add_column(column)
        runs = []
        for run in ("first", "again"):
            before = client.stats["requests"]
            pushed = Pusher(client, connection.name, spec, db, mapping=mapping, batch_size=4).run(
                open_input(str(examples / "flow_members.csv"))
            )
            runs.append(pushed)
            table.add_row(
                run,
                str(pushed.read),
                str(pushed.done),
                str(pushed.skipped),
                str(pushed.rejected),
                str(client.stats["requests"] - before),
            )
        console.print(table)
        _rejects(db, connection, 9)
    return runs[0].done if runs[1].done == 0 and runs[0].rejected >= 1 else 0


# -- Volt ------------------------------------------------------------------------------------------------
def _volt(sandbox: Any, url: str, store: str) -> bool:
    """Pull Volt, send a text, schedule a wave an hour ahead, then move the sandbox's virtual clock and
    watch the wave go out and its delivery statuses arrive; True when every text was delivered once."""
    sandbox.ctx.set_rate_limit("volt", None)
    creds = sandbox.credentials(base_url=url)["volt"]
    base_url, secrets, settings = connectors.from_sandbox("volt", creds)
    audience = creds["samples"]["list_names"][0]
    settings["list_names"] = audience
    settings["wave_ids"] = ",".join(creds["samples"]["wave_ids"])  # the schema lists no waves: name them
    connection = Connection("volt", "volt", base_url, secrets, settings)
    primary, peer = creds["primary_phone"], creds["samples"]["contact_phones"][0]
    console.rule("[bold]Volt[/bold]: SMS over GraphQL, a wave on the virtual clock, delivery statuses")
    with Store(store) as db, connectors.client_for(connection) as client:
        _pull(client, connection, db, "10. pull the inbox, contacts, messages, webhooks, lists and waves")
        actions = connectors.actions_for(connection)
        at = sandbox.ctx.clock.now() + 3600
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))
        sent = Pusher(client, connection.name, actions["send_message"], db).run(
            iter([(1, {"to": peer, "from": primary, "body": "Your order shipped today"})])
        )
        record = {
            "type": "account",
            "primaryPhone": primary,
            "waveName": "Demo wave",
            "listNames": audience,
            "scheduledTime": when,
            "messageBody": "Hi {contact.first_name}, 20% off this weekend",
        }
        scheduled = Pusher(client, connection.name, actions["schedule_wave"], db).run(iter([(1, record)]))
        [(wave_id,)] = db.execute(
            "SELECT remote_id FROM _engagesync.ledger WHERE connection = 'volt' AND action = 'schedule_wave'"
        )
        console.print(
            f'11. sent 1 text to {peer} ({sent.done} done) and scheduled wave {wave_id} to list "{audience}" '
            f"for {when} UTC ({scheduled.done} done)"
        )
        settings["wave_ids"] += f",{wave_id}"
        streams = connectors.streams_for(connection)
        table = Table(title="12. the virtual clock moves; pull waves and messages after each step")
        for column in ("clock", "wave messages", "delivered", "failed", "statuses of the wave's messages"):
            table.add_column(column)
        totals: tuple[Any, ...] = ()
        httpx.post(f"{url}/_sandbox/clock/freeze").raise_for_status()  # only the advances move it
        for label, seconds in (("scheduled", 0.0), ("+1 h: the wave goes out", 3600.0), ("+10 s: carrier", 10.0)):
            httpx.post(f"{url}/_sandbox/clock/advance", json={"seconds": seconds}).raise_for_status()
            pull(client, connection.name, streams, ["messages", "waves"], db)
            totals = db.execute(
                "SELECT totalMessages, totalMessagesDelivered, totalMessagesFailed FROM volt.waves WHERE id = ?",
                [str(wave_id)],
            )[0]
            statuses = db.execute(
                "SELECT status, COUNT(*) FROM volt.messages WHERE waveId = ? GROUP BY status ORDER BY status",
                [str(wave_id)],
            )
            table.add_row(label, *map(str, totals), ", ".join(f"{n} {status}" for status, n in statuses) or "-")
        console.print(table)
    return (
        sent.done == 1 and scheduled.done == 1 and bool(totals) and totals[0] > 0 and totals[1] + totals[2] == totals[0]
    )


# -- a saved destination (seed 002) ----------------------------------------------------------------------
def _destination(sandbox: Any, url: str, store: str) -> int:
    """Create, preview, test and activate a destination; one worker pass; show its responses table."""
    creds = sandbox.credentials(base_url=url)["groove-helpdesk"]
    home = Path(store).with_suffix(".connections.json")
    connections = ConnectionStore(home)
    connections.put(Connection("helpdesk", "groove-helpdesk", creds["base_url"], {"token": creds["token"]}))
    console.rule("[bold]Destinations[/bold] (seed 002): saved, previewed, tested, activated")
    sink = f"{url}/_sandbox/sink/responses"
    with Store(store) as db:
        db.execute("DROP TABLE IF EXISTS main.new_leads")
        db.execute(
            "CREATE TABLE main.new_leads AS SELECT * FROM (VALUES "
            "('crm-1', 'lin@leads.example', 'Demo request', 'Please call me back.'), "
            "('crm-2', 'ola@leads.example', 'Pricing', 'What does the team plan cost?'), "
            "('crm-3', 'kim@leads.example', 'Trial', 'Can I extend my trial?')) t(crm_id, email, subject, note)"
        )
        config = dest.apply_options(
            None,
            {
                "connection": "helpdesk",
                "source": "duckdb::main.new_leads",
                "method": "POST",
                "url": "tickets",
                "format": "json",
                "headers": dest.parse_headers(["X-Source:engagesync-demo,X-Lead:{crm_id}"]),
                "map": ["from=email", "body=note", f"mailbox='{creds['samples']['mailbox_ids'][0]}'"],
                "exclude": ["crm_id", "email", "note"],
                "key": "crm_id",
                "responses_url": sink,
                "response_headers": ["location"],
            },
        )
        dest.create(db, "new_leads", config, connections)
        console.print("13. [bold]create[/bold] new_leads (inactive until activated):")
        console.print(config.to_yaml(), markup=False)
        shown = dest.preview(db, "new_leads", limit=1, connections=connections)["requests"][0]
        console.print(f"14. [bold]preview[/bold]: {shown['method']} {shown['url']}", markup=True)
        console.print(
            f"    x-lead: {shown['headers']['x-lead']}   authorization: {shown['headers']['authorization']}",
            markup=False,
        )
        console.print(f"    {shown['body']}", markup=False)
        tested = dest.test_send(db, "new_leads", connections=connections)
        console.print(
            f"15. [bold]test[/bold]: the first lead sent once, answered {tested['response']['status']} "
            "(it counts as delivered: activating will not send it again)"
        )
        dest.activate(db, "new_leads", every=60)
        console.print("16. [bold]activate[/bold] --every 60s, then one pass of `engagesync run`:")
    worker = dest.Worker(store, lambda line: console.print(f"    {line}", markup=False), connections=connections)
    worker.run(once=True)
    with Store(store) as db:
        rows = db.execute(
            "SELECT id, run_id, record_key, status, headers->>'location', webhook_status "
            'FROM "new_leads"."responses" ORDER BY id'
        )
    table = Table(title="17. the responses source: SELECT * FROM new_leads.responses")
    for column in ("id", "run", "record key", "status", "location", "webhook"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console.print(table)
    for leftover in (home, connections.lock_path):
        leftover.unlink(missing_ok=True)
    received = len(httpx.get(sink).json()["received"])
    console.print(f"The signed response webhook delivered {received} responses to {sink}")
    return len(rows) if received == len(rows) == 3 else 0
