"""pytest fixtures for testing against the sandbox (installed as a pytest plugin).

``sandbox`` is a fresh in-memory sandbox per test with rate limits off (a test about limits turns
them on with ``sandbox.ctx.set_rate_limit``); ``live_sandbox`` is the same sandbox also served over
loopback HTTP by uvicorn, for end-to-end tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .app import Sandbox


def make_sandbox(seed: int = 0, limits: bool = False, db: str | None = None) -> Sandbox:
    sb = Sandbox(db=db, seed=seed)
    if not limits:
        for api in sb.ctx.apis:
            sb.ctx.set_rate_limit(api, None)
    return sb


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = make_sandbox()
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture
def live_sandbox(sandbox: Sandbox) -> Sandbox:
    """The ``sandbox`` fixture, also listening on a loopback port (``live_sandbox.url``)."""
    sandbox.serve()
    return sandbox
