"""Shared fixtures: the sandbox fixtures come from engagesync's pytest plugin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engagesync.sandbox.app import Sandbox

GROOVE = "/groove-helpdesk/v1"


@pytest.fixture
def groove(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An in-process client for the default tenant's Groove helpdesk, base URL at the API prefix."""
    token = sandbox.credentials()["groove-helpdesk"]["token"]
    with sandbox.client() as client:
        client.base_url = httpx.URL(f"http://sandbox{GROOVE}/")
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


@pytest.fixture
def admin(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An in-process client for the sandbox admin API (``/_sandbox``)."""
    with sandbox.client() as client:
        client.base_url = httpx.URL("http://sandbox/_sandbox/")
        yield client


@pytest.fixture(params=["in-process", "loopback"])
def groove_any(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[httpx.Client]:
    """The Groove helpdesk client twice: in-process (ASGI) and over real loopback HTTP (uvicorn).

    Conformance tests use it so every documented example is checked in both modes.
    """
    token = sandbox.credentials()["groove-helpdesk"]["token"]
    if request.param == "in-process":
        client = sandbox.client()
        base = "http://sandbox"
    else:
        base = sandbox.serve()
        client = httpx.Client()
    with client:
        client.base_url = httpx.URL(f"{base}{GROOVE}/")
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``ENGAGESYNC_HOME`` (connections file) for a CLI test."""
    monkeypatch.setenv("ENGAGESYNC_HOME", str(tmp_path / "home"))
    return tmp_path
