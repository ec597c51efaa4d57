"""GrowthGenius fixtures: raw HTTP clients carrying the key and user_id, in-process and over loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from engagesync.sandbox.app import Sandbox

GG = "/growthgenius/integrations/v1"


def _configure(client: httpx.Client, base: str, sandbox: Sandbox) -> httpx.Client:
    creds = sandbox.credentials()["growthgenius"]
    client.base_url = httpx.URL(f"{base}{GG}/")
    client.headers["Authorization"] = creds["api_key"]
    client.params = client.params.merge({"user_id": str(creds["user_id"])})
    return client


@pytest.fixture
def gg(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """In-process client for the default tenant's GrowthGenius: bare key header and ``?user_id=``."""
    with sandbox.client() as client:
        yield _configure(client, "http://sandbox", sandbox)


@pytest.fixture(params=["in-process", "loopback"])
def gg_any(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[httpx.Client]:
    """The same client twice: in-process (ASGI) and over real loopback HTTP (uvicorn)."""
    if request.param == "in-process":
        with sandbox.client() as client:
            yield _configure(client, "http://sandbox", sandbox)
    else:
        url = sandbox.serve()
        with httpx.Client() as client:
            yield _configure(client, url, sandbox)
