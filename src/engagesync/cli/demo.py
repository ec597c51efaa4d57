"""``engagesync demo``: a guided tour on an embedded sandbox, no credentials needed.

It starts the sandbox on a loopback port, seeds it, and makes real HTTP calls a newcomer would make
against Groove's helpdesk API: create a ticket, list it, close it, and watch the webhook arrive.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

console = Console()


class DemoFailed(Exception):
    pass


def _show(title: str, response: httpx.Response, body: Any = None) -> None:
    request = response.request
    lines = [f"[bold]{request.method}[/bold] {request.url.copy_remove_param('access_token')}"]
    if request.content:
        lines.append(json.dumps(json.loads(request.content), indent=2))
    lines.append(f"[bold]→ {response.status_code} {response.reason_phrase}[/bold]")
    for header in ("location", "x-ratelimit-remaining", "date"):
        if header in response.headers:
            lines.append(f"{header}: {response.headers[header]}")
    if body is not None:
        lines.append(json.dumps(body, indent=2)[:1500])
    console.print(Panel("\n".join(lines), title=title, title_align="left"))


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise DemoFailed(f"{what}: expected {status}, got {response.status_code} {response.text[:300]}")


def demo(
    seed: Annotated[int, typer.Option(help="Seed for the sandbox's data.")] = 0,
    tickets: Annotated[int, typer.Option(help="How many tickets to seed.")] = 200,
) -> None:
    """Run the main job end to end on an embedded sandbox and print what happened."""
    from ..sandbox.app import Sandbox

    started = time.perf_counter()
    with Sandbox(seed=seed) as sandbox:
        sandbox.reset(seed=seed, counts={"groove-helpdesk.tickets": tickets})
        url = sandbox.serve()
        creds = sandbox.credentials(base_url=url)["groove-helpdesk"]
        console.rule("[bold]engagesync demo[/bold]: Groove helpdesk on a local sandbox")
        console.print(f"Sandbox listening on [cyan]{url}[/cyan] with {tickets} seeded tickets.\n"
                      f"Groove base URL: [cyan]{creds['base_url']}[/cyan]  (token from {url}/_sandbox/credentials)")
        try:
            _tour(url, creds)
        except (DemoFailed, httpx.HTTPError) as exc:
            console.print(f"[red bold]demo failed:[/red bold] {exc}")
            raise typer.Exit(1) from exc
    console.print(f"\n[green bold]Demo finished[/green bold] in {time.perf_counter() - started:.1f}s.")


def _tour(url: str, creds: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {creds['token']}"}
    sink = f"{url}/_sandbox/sink/demo"
    with httpx.Client(base_url=creds["base_url"] + "/", headers=headers, timeout=10) as groove, \
            httpx.Client(base_url=url + "/_sandbox/", timeout=10) as admin:
        for event in ("ticket_started", "ticket_closed"):
            r = groove.post("webhooks", json={"event": event, "url": sink})
            _expect(r, 201, f"register {event} webhook")
        _show("1. Register webhooks (ticket_started, ticket_closed) to the sandbox's built-in receiver",
              r, r.json())

        r = groove.get("mailboxes")
        _expect(r, 200, "list mailboxes")
        mailbox = r.json()["mailboxes"][0]
        _show("2. Find the mailbox customers write to", r, {"mailboxes": r.json()["mailboxes"][:2]})

        r = groove.post("tickets", json={
            "body": "My order #1234 has not arrived yet.\nCan you check?",
            "from": {"email": "ada@example.com", "name": "Ada Lovelace", "company_name": "Analytical Engines"},
            "to": mailbox["email"],
            "subject": "Where is my order?", "tags": ["shipping"], "starred": True})
        _expect(r, 201, "create ticket")
        ticket = r.json()["ticket"]
        number = ticket["number"]
        _show(f"3. Create a ticket (number {number})", r, ticket)

        r = groove.get("tickets", params={"customer": "ada@example.com"})
        _expect(r, 200, "list tickets")
        listed = r.json()
        if number not in [t["number"] for t in listed["tickets"]]:
            raise DemoFailed("the new ticket is missing from the customer's ticket list")
        _show("4. List the customer's tickets", r, {"tickets": [{k: t.get(k) for k in ("number", "title", "tags",
                                                                                       "message_count", "summary")}
                                                               for t in listed["tickets"]],
                                                   "meta": listed["meta"]})

        r = groove.put(f"tickets/{number}/state", json={"state": "closed"})
        _expect(r, 204, "close ticket")
        _show("5. Close it", r)
        r = groove.get(f"tickets/{number}/state")
        _expect(r, 200, "read state")
        if r.json().get("state") != "closed":
            raise DemoFailed(f"state is {r.json()} after closing")
        _show("6. Read its state back", r, r.json())

        received: list[dict[str, Any]] = []
        for _ in range(50):
            received = admin.get("sink/demo").json()["received"]
            if len(received) >= 2:
                break
            time.sleep(0.05)
        table = Table(title="7. Webhooks the sandbox delivered (raw ticket JSON, no signature)")
        table.add_column("#")
        table.add_column("received at (virtual clock)")
        table.add_column("ticket")
        table.add_column("ticket state in payload")
        for item in received:
            body = item["body"]
            table.add_row(str(item["id"]), item["at"], f"#{body.get('number')} {body.get('title')!r}",
                          str(body.get("state")))
        console.print(table)
        if len(received) < 2:
            raise DemoFailed(f"expected 2 webhook deliveries, received {len(received)}")

        stats = admin.get("stats").json()["apis"].get("groove-helpdesk", {})
        console.print(f"Sandbox journal: {stats.get('requests', 0)} Groove requests, "
                      f"{stats.get('rate_limited', 0)} rate-limited; see {url}/_sandbox/requests")
