"""Deterministic seeding for the Groove helpdesk emulator (placeholder)."""

from __future__ import annotations

import random
from typing import Any


def seed_tenant(api: Any, tenant: Any, rng: random.Random, counts: dict[str, int]) -> None:
    return None


def samples(api: Any, tenant: Any) -> dict[str, Any]:
    return {}
