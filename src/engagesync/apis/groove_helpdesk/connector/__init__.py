"""Groove helpdesk connector: client methods, source streams and destination actions.

- ``make_client(base_url, token, **kwargs)`` and ``check(client)``;
- ``GrooveHelpdesk(client)``: one method per endpoint;
- ``streams()``: source streams by name, in pull order;
- ``actions()``: destination actions (Nexla's templates, plus tags and mailbox moves) by name;
- ``follow_next_page``: the page/per_page next-URL paginator (API-neutral; bound for ``client/``).
"""

from __future__ import annotations

from ....client.paginate import PaginationLoop, follow_next_page, page_of
from .actions import (
    actions,
    reconcile_article,
    reconcile_group,
    reconcile_knowledge_base,
    reconcile_message,
    reconcile_ticket,
    reconcile_webhook,
)
from .client import WINDOW_SECONDS, GrooveHelpdesk, check, make_client
from .streams import streams

__all__ = [
    "WINDOW_SECONDS",
    "GrooveHelpdesk",
    "PaginationLoop",
    "actions",
    "check",
    "follow_next_page",
    "make_client",
    "page_of",
    "reconcile_article",
    "reconcile_group",
    "reconcile_knowledge_base",
    "reconcile_message",
    "reconcile_ticket",
    "reconcile_webhook",
    "streams",
]
