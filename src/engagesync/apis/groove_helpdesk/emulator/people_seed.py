"""Deterministic seeding of agents and customers, and the account's own mail domain."""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING, Any

from .seed import SEED_EPOCH

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from . import GrooveHelpdeskApi

DAY = 86400.0
AGENT_ROLES = ("owner", "admin")  # the first two seeded agents; the rest are plain agents

# fmt: off
FIRST_NAMES = (
    "Ada", "Alan", "Amara", "Ana", "Ben", "Bruno", "Carla", "Chen", "Chloe", "Dana", "David", "Elena",
    "Emeka", "Erik", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jamal", "Jana", "Joao",
    "Julia", "Kai", "Kenji", "Lara", "Leo", "Lina", "Luca", "Maya", "Mei", "Mila", "Nadia", "Nia", "Noah",
    "Olga", "Omar", "Priya", "Quinn", "Rafael", "Rosa", "Sami", "Sofia", "Tariq", "Tom", "Uma", "Vera",
    "Yusuf", "Zoe",
)
LAST_NAMES = (
    "Abe", "Adeyemi", "Almeida", "Baker", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Gupta",
    "Hall", "Haddad", "Ivanova", "Jensen", "Kaur", "Kim", "Kowalski", "Lopez", "Meyer", "Mora", "Nakamura",
    "Novak", "Okafor", "Olsen", "Park", "Patel", "Quispe", "Rossi", "Santos", "Schmidt", "Silva", "Smith",
    "Suzuki", "Tanaka", "Torres", "Usman", "Varga", "Wang", "Weber", "Wilson", "Yilmaz", "Zhang",
)
CUSTOMER_DOMAINS = (
    "mail.example", "inbox.example", "post.example", "corp.example", "shop.example", "studio.example",
    "labs.example", "school.example",
)
COMPANIES = (
    "Northwind", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Foods", "Hooli",
    "Vandelay Imports", "Soylent", "Tyrell Labs", "Cyberdyne", "Wonka Sweets",
)
TITLES = ("Founder", "CTO", "Office Manager", "Head of Support", "Developer", "Buyer", "Designer")
LOCATIONS = ("Lisbon", "Austin", "Lagos", "Berlin", "Osaka", "Toronto", "Sao Paulo", "Pune", "Melbourne")
# fmt: on
PLANS = ("free", "starter", "pro", "enterprise")
#: The account's own domain, picked from the tenant seed alone (no draw from the shared RNG), so
#: mailboxes and agents agree on it whatever order they are seeded in.
ACCOUNT_DOMAINS = ("acme-support.example", "helpful.example", "brightdesk.example", "orbit.example")


def account_domain(tenant: Tenant) -> str:
    return ACCOUNT_DOMAINS[tenant.seed % len(ACCOUNT_DOMAINS)]


def seed(api: GrooveHelpdeskApi, tenant: Tenant, rng: random.Random, counts: dict[str, int]) -> None:
    _seed_agents(api, tenant, rng, max(0, int(counts.get("agents", 0))))
    _seed_customers(api, tenant, rng, max(0, int(counts.get("customers", 0))))


def _seed_agents(api: GrooveHelpdeskApi, tenant: Tenant, rng: random.Random, n: int) -> None:
    if n == 0:
        return
    tid = tenant.id
    domain = account_domain(tenant)
    first_id = api.reserve(tid, "id:agent", n, start=4_000_000_001)
    seen: set[str] = set()
    rows = []
    for i in range(n):
        first = FIRST_NAMES[int(rng.random() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(rng.random() * len(LAST_NAMES))]
        local = first.lower()
        if local in seen:
            local = f"{first}.{last}".lower()
        if local in seen:
            local = f"{first}.{last}{i + 1}".lower()
        seen.add(local)
        created = SEED_EPOCH - 2 * 365 * DAY - rng.random() * 30 * DAY
        role = AGENT_ROLES[i] if i < len(AGENT_ROLES) else "agent"
        rows.append((tid, str(first_id + i), f"{local}@{domain}", first, last, role, "active", created, created))
    api.ctx.store.executemany(
        "INSERT INTO gh_agents (tenant_id, id, email, first_name, last_name, role, state, created_at,"
        " updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _seed_customers(api: GrooveHelpdeskApi, tenant: Tenant, rng: random.Random, n: int) -> None:
    if n == 0:
        return
    tid = tenant.id
    first_id = api.reserve(tid, "id:customer", n, start=4_000_000_001)
    rnd = rng.random
    nf, nl, nd = len(FIRST_NAMES), len(LAST_NAMES), len(CUSTOMER_DOMAINS)
    empty = "{}"
    customs = [json.dumps({"plan": p}) for p in PLANS]
    rows = []
    for i in range(n):
        first = FIRST_NAMES[int(rnd() * nf)]
        last = LAST_NAMES[int(rnd() * nl)]
        email = f"{first}.{last}{i + 1}@{CUSTOMER_DOMAINS[int(rnd() * nd)]}".lower()
        rich = rnd() < 0.35
        company = COMPANIES[int(rnd() * len(COMPANIES))] if rich else None
        title = TITLES[int(rnd() * len(TITLES))] if rich else None
        location = LOCATIONS[int(rnd() * len(LOCATIONS))] if rnd() < 0.5 else None
        custom = customs[int(rnd() * len(customs))] if rnd() < 0.25 else empty
        created = SEED_EPOCH - 2 * 365 * DAY + rnd() * 365 * DAY
        rows.append(
            (
                tid,
                str(first_id + i),
                email,
                f"{first} {last}",
                first,
                last,
                None,
                None,
                title,
                company,
                None,
                location,
                None,
                None,
                custom,
                created,
                created,
            )
        )
    api.ctx.store.executemany(
        "INSERT INTO gh_customers (tenant_id, id, email, name, first_name, last_name, about,"
        " twitter_username,"
        " title, company_name, phone_number, location, website_url, linkedin_username, custom, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def samples(api: GrooveHelpdeskApi, tenant: Tenant) -> dict[str, Any]:
    store = api.ctx.store
    agents = store.all("SELECT email FROM gh_agents WHERE tenant_id = ? ORDER BY id LIMIT 3", (tenant.id,))
    customers = store.all("SELECT email FROM gh_customers WHERE tenant_id = ? ORDER BY id LIMIT 3", (tenant.id,))
    return {"agent_emails": [r["email"] for r in agents], "customer_emails": [r["email"] for r in customers]}
