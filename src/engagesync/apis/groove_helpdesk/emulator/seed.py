"""Deterministic seeding: each resource module seeds its own rows, in dependency order.

Same seed, same data: every module draws from one ``random.Random`` seeded by the tenant's seed and
takes timestamps from a fixed base date, never from the clock.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ....sandbox.api import Tenant
    from . import GrooveHelpdeskApi

#: Seeded timestamps fall in the year before this instant (2026-01-01T00:00:00Z).
SEED_EPOCH = 1767225600.0

#: Default counts when a reset names none for this API.
DEFAULT_COUNTS = {
    "agents": 5,
    "groups": 3,
    "mailboxes": 2,
    "customers": 40,
    "tickets": 60,
    "messages_per_ticket": 3,
    "widgets": 2,
    "knowledge_bases": 1,
    "categories": 3,
    "articles": 8,
}


def seed_tenant(
    api: GrooveHelpdeskApi, modules: Iterable[ModuleType], tenant: Tenant, rng: random.Random, counts: dict[str, int]
) -> None:
    """Seed every resource module in turn (``modules`` come from the API, so this module imports none)."""
    unknown = sorted(set(counts) - set(DEFAULT_COUNTS))
    if unknown:
        raise ValueError(
            f"unknown groove-helpdesk count(s): {', '.join(unknown)}; known: {', '.join(sorted(DEFAULT_COUNTS))}"
        )
    merged = {**DEFAULT_COUNTS, **counts}
    with api.ctx.store.tx():
        for module in modules:
            module.seed(api, tenant, rng, merged)


def samples(api: GrooveHelpdeskApi, modules: Iterable[ModuleType], tenant: Tenant) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for module in modules:
        if hasattr(module, "samples"):
            out.update(module.samples(api, tenant))
    return out
