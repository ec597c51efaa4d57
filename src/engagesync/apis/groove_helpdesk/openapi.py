"""Loads the emulator's OpenAPI document (``openapi.yaml``) and points its server at the caller."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).with_name("openapi.yaml")


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    if not SPEC.exists():
        return {"openapi": "3.0.3", "info": {"title": "Groove helpdesk REST API v1", "version": "1"}, "paths": {}}
    data: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return data


def document(base_url: str) -> dict[str, Any]:
    doc = copy.deepcopy(_load())
    doc["servers"] = [{"url": base_url}]
    return doc
