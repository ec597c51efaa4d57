"""Deterministic seeding: one ``random.Random`` per tenant seed; timestamps from a fixed base date.

Every tenant's organization and first account are the document's examples (Acme Corporation, the
"Tulsa Store" at +15555554321 with a number pool, contact Wile E. Coyote, list "Loyal Customers",
wave "Memorial Day Brick Sale"), so the seed's examples run as written. ``counts``
(``volt.<resource>``) sizes the rest: accounts, contacts, lists, messages, waves.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

from .. import contract
from ..contract import ALL_LIST
from .model import ACCOUNT_ID, CONTACT_ID, LIST_ID, ORG_ID, WAVE_ID, legacy_id, message_id

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from . import VoltApi

#: Seeded timestamps fall in the year before this instant (2026-01-01T00:00:00Z).
SEED_EPOCH = 1767225600.0
YEAR = 365 * 86400.0

DEFAULT_COUNTS = {"accounts": 2, "contacts": 40, "lists": 3, "messages": 200, "waves": 3}

USER_EMAIL = "your.user@example.com"
PRIMARY_PHONE = "+15555554321"
POOL = ["+15555551234", "+15555556894"]
EXAMPLE_CONTACT = ("Wile E. Coyote", "+15555556893")
FIELDS = {"species": "string", "purchases": "number", "last_visit": "date"}
CITIES = [
    ("Austin Store", "Austin, Texas"),
    ("Denver Store", "Denver, Colorado"),
    ("Omaha Store", "Omaha, Nebraska"),
    ("Boise Store", "Boise, Idaho"),
    ("Reno Store", "Reno, Nevada"),
    ("Tampa Store", "Tampa, Florida"),
]
FIRST = [
    "Road",
    "Bugs",
    "Daffy",
    "Porky",
    "Elmer",
    "Tweety",
    "Marvin",
    "Yosemite",
    "Foghorn",
    "Speedy",
    "Pepe",
    "Lola",
    "Granny",
    "Petunia",
    "Taz",
    "Sylvester",
]
LAST = [
    "Runner",
    "Bunny",
    "Duck",
    "Pig",
    "Fudd",
    "Bird",
    "Martian",
    "Sam",
    "Leghorn",
    "Gonzales",
    "Le Pew",
    "Hare",
    "Devil",
    "Cat",
    "Coyote",
    "Hawk",
]
SPECIES = ["Canis latrans", "Geococcyx californianus", "Lepus californicus", "Anas platyrhynchos", "Felis catus"]
LIST_TEMPLATES: list[dict[str, Any]] = [
    {
        "name": "Loyal Customers",
        "source_list": ALL_LIST,
        "rules": [{"field": "purchases", "operator": "gte", "queryValue": "3"}],
    },
    {"name": "Coyotes", "rules": [{"field": "species", "operator": "has", "queryValue": '"Canis"'}]},
    {"name": "Recent visitors", "rules": [{"field": "last_visit", "operator": "af", "queryValue": '"2025-07-01"'}]},
    {"name": "Runners", "name_term": "Runner"},
    {
        "name": "Big spenders",
        "source_list": "Loyal Customers",
        "rules": [{"field": "purchases", "operator": "gt", "queryValue": "8"}],
    },
]
OUTBOUND = [
    "Thanks for coming in!",
    "Your order is ready for pickup.",
    "We're having a great sale on bricks this weekend.",
    "Reminder: your appointment is tomorrow at 10am.",
    "Reply STOP to opt out.",
    "Your anvil has shipped.",
]
INBOUND = [
    "Well, back to the old drawing board.",
    "Is the rocket skate back in stock?",
    "Thanks!",
    "Can I change my pickup time?",
    "Beep beep!",
    "What time do you close?",
]


def seed_tenant(api: VoltApi, tenant: Tenant, counts: dict[str, int]) -> None:
    unknown = sorted(set(counts) - set(DEFAULT_COUNTS))
    if unknown:
        raise ValueError(f"unknown volt count(s): {', '.join(unknown)}; known: {', '.join(sorted(DEFAULT_COUNTS))}")
    n = {**DEFAULT_COUNTS, **counts}
    rng = random.Random(f"volt:{tenant.seed}")
    t, store = tenant.id, api.ctx.store

    def past(lo: float = 0.0, hi: float = 1.0) -> float:
        return SEED_EPOCH - YEAR + rng.uniform(lo, hi) * YEAR

    org_created = past(0.0, 0.05)
    store.execute(
        "INSERT INTO vt_orgs VALUES (?, ?, 'Acme Corporation', 'example.com', '11-50', 'Retail', ?, 0, 1, ?, ?)",
        (t, ORG_ID + t, USER_EMAIL, org_created, org_created),
    )
    store.executemany("INSERT INTO vt_fields VALUES (?, ?, ?)", [(t, k, v) for k, v in FIELDS.items()])

    # accounts and their numbers: the document's Tulsa Store first, pooled
    n_accounts = max(1, n["accounts"])
    first_account = api.reserve(t, "account", n_accounts, ACCOUNT_ID)
    phone_space = rng.sample(range(10_000), n_accounts + 4)
    reserved = {PRIMARY_PHONE, *POOL, EXAMPLE_CONTACT[1]}
    extra = [p for p in (f"+1555555{d:04d}" for d in phone_space) if p not in reserved]
    accounts: list[tuple[Any, ...]] = []
    numbers: list[tuple[int, str, int, int]] = []
    for i in range(n_accounts):
        aid = first_account + i
        created = past(0.05, 0.1)
        if i == 0:
            accounts.append(
                (
                    t,
                    aid,
                    "Tulsa Store",
                    USER_EMAIL,
                    PRIMARY_PHONE,
                    json.dumps(POOL),
                    "+15555551234",
                    "Tulsa, Oklahoma",
                    created,
                    created,
                )
            )
            numbers += [(t, PRIMARY_PHONE, aid, 1)] + [(t, p, aid, 0) for p in POOL]
        else:
            name, location = CITIES[(i - 1) % len(CITIES)]
            phone = extra.pop()
            accounts.append(
                (
                    t,
                    aid,
                    name if i <= len(CITIES) else f"{name} #{i}",
                    USER_EMAIL,
                    phone,
                    "[]",
                    None,
                    location,
                    created,
                    created,
                )
            )
            numbers.append((t, phone, aid, 1))
    store.executemany("INSERT INTO vt_accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", accounts)
    store.executemany("INSERT INTO vt_numbers VALUES (?, ?, ?, ?)", numbers)
    account_ids = [a[1] for a in accounts]
    primaries = {a[1]: a[4] for a in accounts}

    # contacts: Wile E. Coyote first; the rest spread over the accounts (the first gets half)
    n_contacts = max(1, n["contacts"])
    first_contact = api.reserve(t, "contact", n_contacts, CONTACT_ID)
    taken = {p for (_, p, _, _) in numbers} | {EXAMPLE_CONTACT[1]}
    phones = [
        p for p in (f"+1555{d:07d}" for d in rng.sample(range(10_000_000), n_contacts + len(taken))) if p not in taken
    ][: n_contacts - 1]
    contacts = []
    for i in range(n_contacts):
        cid = first_contact + i
        aid = account_ids[0] if i == 0 or rng.random() < 0.5 else rng.choice(account_ids)
        name, phone = EXAMPLE_CONTACT if i == 0 else (f"{rng.choice(FIRST)} {rng.choice(LAST)}", phones[i - 1])
        custom = {"species": "Canis latrans", "purchases": "5"} if i == 0 else {}
        if i and rng.random() < 0.8:
            custom["species"] = rng.choice(SPECIES)
        if i and rng.random() < 0.7:
            custom["purchases"] = str(rng.randrange(0, 12))
        if rng.random() < 0.6:
            custom["last_visit"] = f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        pool = POOL if aid == account_ids[0] else []
        mapped = pool[cid % len(pool)] if pool else primaries[aid]
        created = past(0.1, 0.5)
        contacts.append(
            (
                t,
                cid,
                aid,
                phone,
                name,
                mapped,
                json.dumps([{"key": k, "value": v} for k, v in custom.items()]),
                int(i > 0 and rng.random() < 0.05),
                created,
                created + rng.uniform(0, 0.2) * YEAR,
            )
        )
    store.executemany("INSERT INTO vt_contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", contacts)

    # lists: "All" on every account, then the templates ("Loyal Customers" first, on the Tulsa Store)
    wanted = [(account_ids[0], LIST_TEMPLATES[k % len(LIST_TEMPLATES)]) for k in range(n["lists"])]
    first_list = api.reserve(t, "list", len(account_ids) + len(wanted), LIST_ID)
    lists, list_ids = [], {}
    all_lists = [(aid, {"name": ALL_LIST}) for aid in account_ids]
    for k, (aid, spec) in enumerate([*wanted, *all_lists]):
        name = spec["name"] if k < len(LIST_TEMPLATES) or k >= len(wanted) else f"{spec['name']} #{k + 1}"
        created = past(0.2, 0.4)
        rules = spec.get("rules")
        source = spec.get("source_list") if k < len(LIST_TEMPLATES) else None
        lists.append(
            (
                t,
                first_list + k,
                aid,
                name,
                USER_EMAIL,
                source,
                spec.get("name_term"),
                json.dumps(rules) if rules else None,
                created,
                created,
            )
        )
        list_ids[(aid, name)] = first_list + k
    store.executemany("INSERT INTO vt_lists VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", lists)

    # waves (already sent) and messages, in time order
    n_waves = n["waves"]
    first_wave = api.reserve(t, "wave", n_waves, WAVE_ID) if n_waves else WAVE_ID
    waves = []
    for w in range(n_waves):
        at = past(0.5, 0.9)
        name = "Memorial Day Brick Sale" if w == 0 else f"Wave {w + 1}: {rng.choice(OUTBOUND)[:30]}"
        body = "Hi {contact.first_name}, we're having a great sale on bricks this weekend."
        lst = list_ids.get((account_ids[0], "Loyal Customers")) or list_ids[(account_ids[0], ALL_LIST)]
        waves.append(
            (
                t,
                first_wave + w,
                account_ids[0],
                name,
                "account",
                "sent",
                at,
                body,
                json.dumps(["https://example.com/image.png"] if w == 0 else []),
                USER_EMAIL,
                json.dumps([lst]),
                None,
                at - 86400,
                at,
            )
        )
    store.executemany("INSERT INTO vt_waves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", waves)

    n_messages = n["messages"]
    times = sorted(past(0.5, 1.0) for _ in range(n_messages))
    first_seq = api.reserve(t, "message", n_messages) if n_messages else 1
    by_id = {c[1]: c for c in contacts}
    messages = []
    for k, at in enumerate(times):
        seq = first_seq + k
        contact = by_id[first_contact] if k % 7 == 0 else contacts[rng.randrange(len(contacts))]
        aid, peer, mapped = contact[2], contact[3], contact[5]
        inbound = rng.random() < 0.35 and not contact[7]
        wave = rng.choice(waves) if waves and not inbound and rng.random() < 0.2 else None
        media = ["https://example.com/image.png"] if rng.random() < 0.1 else []
        if inbound:
            status, desc, to_n, from_n, body = (
                "received",
                contract.STATUS_DESCRIPTIONS["received"],
                mapped,
                peer,
                rng.choice(INBOUND),
            )
        else:
            failing = rng.random() < 0.05
            status = "failed" if failing else "delivered"
            desc = (
                rng.choice(list(contract.FAILING_NUMBERS.values()))
                if failing
                else contract.STATUS_DESCRIPTIONS["delivered"]
            )
            to_n, from_n = peer, mapped
            body = (
                wave[7].replace("{contact.first_name}", contact[4].partition(" ")[0]) if wave else rng.choice(OUTBOUND)
            )
        messages.append(
            (
                t,
                seq,
                message_id(t, seq),
                legacy_id(t, seq),
                aid,
                contact[1],
                peer,
                "inbound" if inbound else "outbound",
                to_n,
                from_n,
                status,
                desc,
                json.dumps(media),
                body,
                at,
                at + (0.0 if inbound else rng.uniform(1, 30)),
                wave[1] if wave else None,
            )
        )
    store.executemany("INSERT INTO vt_messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", messages)


def samples(api: VoltApi, tenant: Tenant) -> dict[str, Any]:
    """A few seeded values worth trying, and a ready query for the common operations."""
    store, t = api.ctx.store, tenant.id
    account = store.one("SELECT * FROM vt_accounts WHERE tenant_id = ? ORDER BY id LIMIT 1", (t,))
    primary = account["primary_phone"] if account else None
    contacts = [
        r["phone"]
        for r in store.all(
            "SELECT phone FROM vt_contacts WHERE tenant_id = ? AND account_id = ? AND blocked = 0 ORDER BY id LIMIT 3",
            (t, account["id"] if account else 0),
        )
    ]
    messages = store.all("SELECT id, legacy_id FROM vt_messages WHERE tenant_id = ? ORDER BY seq DESC LIMIT 3", (t,))
    out: dict[str, Any] = {
        "primary_phone": primary,
        "account_numbers": [
            r["number"]
            for r in store.all(
                "SELECT number FROM vt_numbers WHERE tenant_id = ? ORDER BY account_id, is_primary DESC, number", (t,)
            )
        ],
        "contact_phones": contacts,
        "message_ids": [r["id"] for r in messages],
        "legacy_message_ids": [r["legacy_id"] for r in messages],
        "list_names": [
            r["name"]
            for r in store.all(
                "SELECT name FROM vt_lists WHERE tenant_id = ? AND account_id = ? ORDER BY id",
                (t, account["id"] if account else 0),
            )
        ],
        "wave_ids": [
            str(r["id"]) for r in store.all("SELECT id FROM vt_waves WHERE tenant_id = ? ORDER BY id LIMIT 3", (t,))
        ],
        "failing_numbers": dict(contract.FAILING_NUMBERS),
    }
    to = contacts[0] if contacts else EXAMPLE_CONTACT[1]
    out["queries"] = {
        "contact": {
            "query": "query contact($primaryPhone: String!, $phoneNumber: String!) { contact(primaryPhone: "
            "$primaryPhone, phoneNumber: $phoneNumber) { id name phoneNumber mappedNumber blocked "
            "customFields { key type value } lists { name } } }",
            "variables": {"primaryPhone": primary, "phoneNumber": to},
        },
        "conversation": {
            "query": "query conversation($to: String!, $from: String!, $before: String) { conversation("
            "to: $to, from: $from, before: $before) { messages { id status body sentAt } "
            "pageInfo { totalItems nextPage hasNextPage } } }",
            "variables": {"to": to, "from": primary},
        },
        "createMessage": {
            "query": "mutation createMessage($to: String!, $from: String!, $body: String!) { "
            "createMessage(to: $to, from: $from, body: $body) { id legacyId status } }",
            "variables": {"to": to, "from": primary, "body": "Hello from the sandbox"},
        },
    }
    return out
