"""The ``page`` fixture of the browser tests (Playwright is imported only when a test asks for it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.console.browser import browser_page

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture
def page() -> Iterator[Page]:
    with browser_page() as tab:
        yield tab
