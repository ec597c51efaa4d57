"""pytest fixtures and helpers for testing against the sandbox (installed as a pytest plugin).

``make_sandbox`` builds a sandbox with every registered API (the sandbox engine is handed its APIs by
its caller; this is that caller for tests). ``sandbox`` is a fresh in-memory sandbox per test with
rate limits off (a test about limits turns them on with ``sandbox.ctx.set_rate_limit``);
``live_sandbox`` is the same sandbox also served over loopback HTTP by uvicorn, for end-to-end tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .apis.registry import emulator_factories
from .sandbox import Sandbox

__all__ = ["live_sandbox", "make_sandbox", "sandbox"]


def make_sandbox(
    seed: int = 0, limits: bool = True, db: str | None = None, counts: dict[str, int] | None = None
) -> Sandbox:
    """A sandbox of every registered API; ``limits=False`` turns their rate limits off."""
    sb = Sandbox(apis=emulator_factories(), db=db, seed=seed, counts=counts)
    if not limits:
        for api in sb.ctx.apis:
            sb.ctx.set_rate_limit(api, None)
    return sb


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = make_sandbox(limits=False)
    try:
        yield sb
    finally:
        sb.close()


@pytest.fixture
def live_sandbox(sandbox: Sandbox) -> Sandbox:
    """The ``sandbox`` fixture, also listening on a loopback port (``live_sandbox.url``)."""
    sandbox.serve()
    return sandbox
