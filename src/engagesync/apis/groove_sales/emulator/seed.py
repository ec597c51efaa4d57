"""Deterministic seeding: one ``random.Random`` per tenant seed; timestamps from a fixed base date.

``counts`` (``groove-sales.<resource>``) sizes it: flows, people, steps_per_flow, labels_per_flow,
person_flows (people already in a flow) and users (flow owners).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ..contract import salesforce_18

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from . import GrooveSalesApi

#: Seeded timestamps fall in the year before this instant (2026-01-01T00:00:00Z).
SEED_EPOCH = 1767225600.0

DEFAULT_COUNTS = {"users": 3, "flows": 8, "steps_per_flow": 6, "labels_per_flow": 3, "people": 50, "person_flows": 20}

FLOW_ID, STEP_ID, LABEL_ID, PERSON_ID, PERSON_FLOW_ID, USER_ID = 70_001, 510_001, 30_001, 9_000_001, 800_001, 4_101

FLOW_NAMES = [
    "Outbound: VP Sales",
    "Inbound demo follow-up",
    "Conference leads",
    "Trial nurture",
    "Closed-lost re-engage",
    "Champion moved jobs",
    "Webinar attendees",
    "Expansion: existing accounts",
    "Renewal prep",
    "Cold outbound: RevOps",
]
STEP_KINDS = [
    "Intro email",
    "LinkedIn touch",
    "Call",
    "Follow-up email",
    "Case study email",
    "Breakup email",
    "Voicemail",
    "Manual task",
]
LABELS = ["Q1", "Q2", "EMEA", "NA", "Enterprise", "SMB", "Priority", "Partner"]
FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Shafi",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Backus",
    "Goldwasser",
]
COMPANIES = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka"]
_SF_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def salesforce_id(rng: random.Random, lead: bool) -> str:
    """An 18-character Contact (``003``) or Lead (``00Q``) id with a valid checksum suffix."""
    body = ("00Q" if lead else "003") + "5e00000" + "".join(rng.choice(_SF_CHARS) for _ in range(5))
    return salesforce_18(body)


def seed_tenant(api: GrooveSalesApi, tenant: Tenant, counts: dict[str, int]) -> None:
    unknown = sorted(set(counts) - set(DEFAULT_COUNTS))
    if unknown:
        raise ValueError(
            f"unknown groove-sales count(s): {', '.join(unknown)}; known: {', '.join(sorted(DEFAULT_COUNTS))}"
        )
    n = {**DEFAULT_COUNTS, **counts}
    rng = random.Random(f"groove-sales:{tenant.seed}")
    t = tenant.id
    users = [USER_ID + i for i in range(max(1, n["users"]))]
    flows, steps, labels = [], [], []
    for i in range(n["flows"]):
        fid = FLOW_ID + i
        created = SEED_EPOCH - rng.uniform(30, 365) * 86400
        auto_import = rng.random() < 0.3
        flows.append(
            (
                t,
                fid,
                f"{FLOW_NAMES[i % len(FLOW_NAMES)]}{'' if i < len(FLOW_NAMES) else f' #{i + 1}'}",
                rng.choice([None, "Sequence for prospects who match the ICP.", "Owned by the SDR team."]),
                rng.choice(users),
                int(auto_import),
                f"ai_{rng.randrange(10**6):06d}" if auto_import else None,
                int(rng.random() < 0.85),
                int(i == 0),
                int(rng.random() < 0.7),
                int(rng.random() < 0.8),
                ("7015e00000" + "".join(rng.choice(_SF_CHARS) for _ in range(5))) if rng.random() < 0.4 else None,
                created,
            )
        )
        day = 1
        for s in range(n["steps_per_flow"]):
            steps.append(
                (t, STEP_ID + i * n["steps_per_flow"] + s, fid, f"{STEP_KINDS[(s + i) % len(STEP_KINDS)]}", str(day))
            )
            day += rng.choice([1, 2, 2, 3, 4])
        for k in range(n["labels_per_flow"]):
            labels.append((t, LABEL_ID + i * n["labels_per_flow"] + k, fid, rng.choice(LABELS)))
    people = []
    seen: set[str] = set()
    for p in range(n["people"]):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        sf = salesforce_id(rng, lead=rng.random() < 0.4)
        while sf.lower() in seen:
            sf = salesforce_id(rng, lead=sf.startswith("00Q"))
        seen.add(sf.lower())
        email = f"{first.lower()}.{last.lower().replace('-', '')}{p + 1}@{rng.choice(COMPANIES)}.example"
        people.append((t, PERSON_ID + p, f"{first} {last}", email, sf))
    memberships: dict[tuple[int, int], float] = {}
    if flows and people:
        for _ in range(min(n["person_flows"], len(flows) * len(people))):
            pair = (rng.choice(people)[1], rng.choice(flows)[1])
            while pair in memberships:
                pair = (rng.choice(people)[1], rng.choice(flows)[1])
            memberships[pair] = SEED_EPOCH - rng.uniform(0, 30) * 86400
    store = api.ctx.store
    with store.tx():
        store.executemany("INSERT INTO gs_flows VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", flows)
        store.executemany("INSERT INTO gs_steps VALUES (?,?,?,?,?)", steps)
        store.executemany("INSERT INTO gs_label_instances VALUES (?,?,?,?)", labels)
        store.executemany("INSERT INTO gs_people VALUES (?,?,?,?,?)", people)
        store.executemany(
            "INSERT INTO gs_person_flows VALUES (?,?,?,?,?)",
            [(t, PERSON_FLOW_ID + j, pid, fid, at) for j, ((pid, fid), at) in enumerate(sorted(memberships.items()))],
        )


def samples(api: GrooveSalesApi, tenant: Tenant) -> dict[str, Any]:
    """A few seeded ids, and a ready query for every root field, so a newcomer can try it all at once."""
    store, t = api.ctx.store, tenant.id
    flow_ids = [
        str(r["id"]) for r in store.all("SELECT id FROM gs_flows WHERE tenant_id = ? ORDER BY id LIMIT 3", (t,))
    ]
    people = store.all("SELECT id, salesforce_id FROM gs_people WHERE tenant_id = ? ORDER BY id LIMIT 3", (t,))
    member = store.one("SELECT person_id, flow_id FROM gs_person_flows WHERE tenant_id = ? ORDER BY id LIMIT 1", (t,))
    free = None
    if flow_ids:
        free = store.one(
            "SELECT id FROM gs_people WHERE tenant_id = ? AND id NOT IN (SELECT person_id FROM "
            "gs_person_flows WHERE tenant_id = ? AND flow_id = ?) ORDER BY id LIMIT 1",
            (t, t, int(flow_ids[0])),
        )
    out: dict[str, Any] = {
        "flow_ids": flow_ids,
        "person_ids": [str(r["id"]) for r in people],
        "salesforce_ids": [r["salesforce_id"] for r in people],
        "person_in_flow": {"personId": str(member["person_id"]), "flowId": str(member["flow_id"])} if member else None,
    }
    flow = flow_ids[0] if flow_ids else "0"
    sf = out["salesforce_ids"][0] if out["salesforce_ids"] else "003000000000000AAA"
    out["queries"] = {
        "flows": {"query": "{ flows { id name finalized userId } }"},
        "flow": {
            "query": "query Flow($id: ID!) { flow(id: $id) { id name description "
            "steps(first: 10) { nodes { id name dayNumber } pageInfo { hasNextPage endCursor } } "
            "labelInstances(first: 10) { nodes { id } } } }",
            "variables": {"id": flow},
        },
        "findPersonBySalesforceId": {
            "query": "query Person($sf: String!) { findPersonBySalesforceId("
            "salesforceId: $sf) { id name emailAddress } }",
            "variables": {"sf": sf},
        },
        "addPersonToFlow": {
            "query": "mutation Add($input: AddPersonToFlowInput!) { addPersonToFlow(input: $input) "
            "{ personFlow { createdAt flow { id name } person { id name } } } }",
            "variables": {"input": {"flowId": flow, "personId": str(free["id"]) if free else "0"}},
        },
    }
    return out
