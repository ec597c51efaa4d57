"""Fixtures for the engine tests: a sandbox serving only the toy echo API, its admin and echo clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from engagesync.sandbox.app import Sandbox

from .echo_api import admin_client, echo_client, echo_sandbox


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with echo_sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def adm(sb: Sandbox) -> httpx.Client:
    return admin_client(sb)


@pytest.fixture
def echo(sb: Sandbox) -> httpx.Client:
    return echo_client(sb)
