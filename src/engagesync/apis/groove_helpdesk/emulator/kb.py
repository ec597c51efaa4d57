"""Groove helpdesk: kb (placeholder until implemented)."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

DDL = ""
TABLES: tuple[str, ...] = ()


def routes() -> list[BaseRoute]:
    return []


def seed(api: Any, tenant: Any, rng: Any, counts: dict[str, int]) -> None:
    return None
