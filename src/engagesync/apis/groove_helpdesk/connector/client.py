"""Groove helpdesk client: ``make_client`` and thin methods for every endpoint the API has."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from ....client.auth import BearerToken
from ....client.budget import RateBudget
from ....client.http import ApiClient, default_error_parser
from ....client.paginate import follow_next_page

#: Groove's limit is undocumented; the sandbox emulates 100 requests per 60 s window.
WINDOW_SECONDS = 60.0

Json = dict[str, Any]


def make_client(base_url: str, token: str, **kwargs: Any) -> ApiClient:
    """An ``ApiClient`` for one Groove helpdesk token.

    ``window_seconds`` (default 60) and ``on_wait`` shape the rate budget unless a ``budget`` is
    given; every other keyword goes to ``ApiClient`` (``transport``, ``timeout``, ``retry``...).
    """
    window = float(kwargs.pop("window_seconds", WINDOW_SECONDS))
    on_wait = kwargs.pop("on_wait", None)
    budget = kwargs.pop("budget", None) or RateBudget(window_seconds=window, on_wait=on_wait)
    kwargs.setdefault("error_parser", default_error_parser)  # Rails-style {"errors": [...]}
    return ApiClient(base_url, auth=BearerToken(token), budget=budget, **kwargs)


def check(client: ApiClient) -> dict[str, Any]:
    """Test the credential with one cheap call; raises ``AuthError`` on 401."""
    mailboxes = client.get_json("mailboxes").get("mailboxes", [])
    return {
        "ok": True,
        "base_url": client.base_url,
        "mailboxes": len(mailboxes),
        "primary_mailbox": next((m.get("email") for m in mailboxes if m.get("primary")), None),
    }


def seg(value: Any) -> str:
    """A value as one URL path segment (emails keep their ``@``, as Groove writes them)."""
    return quote(str(value).strip(), safe="@")


def _json(
    client: ApiClient,
    method: str,
    path: str,
    body: Any = None,
    params: Json | None = None,
    idempotent: bool | None = None,
) -> Json | None:
    response = client.request(method, path, params=params, json=body, idempotent=idempotent)
    if response.status_code == 204 or not response.content:
        return None
    data: Json = response.json()
    return data


class GrooveHelpdesk:
    """Every Groove helpdesk v1 endpoint as a method; answers are the API's JSON (``None`` for 204)."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def _get(self, path: str, params: Json | None = None) -> Json:
        data: Json = self.client.get_json(path, params)
        return data

    def _send(self, method: str, path: str, body: Any = None, idempotent: bool | None = None) -> Json | None:
        return _json(self.client, method, path, body, idempotent=idempotent)

    def iterate(self, path: str, items_key: str, **params: Any) -> Iterator[Json]:
        """Every item of a paged list, following ``next_page``."""
        for items, _ in follow_next_page(self.client, path, params, items_key):
            yield from items

    # -- tickets -----------------------------------------------------------------------------------
    def list_tickets(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        assignee: str | None = None,
        customer: str | None = None,
        state: str | None = None,
        folder: str | None = None,
    ) -> Json:
        params = {
            "page": page,
            "per_page": per_page,
            "assignee": assignee,
            "customer": customer,
            "state": state,
            "folder": folder,
        }
        return self._get("tickets", {k: v for k, v in params.items() if v is not None})

    def iter_tickets(self, **filters: Any) -> Iterator[Json]:
        return self.iterate("tickets", "tickets", **{k: v for k, v in filters.items() if v is not None})

    def get_ticket(self, number: int) -> Json:
        return self._get(f"tickets/{int(number)}")

    def create_ticket(self, **fields: Any) -> Json | None:
        return self._send("POST", "tickets", fields)

    def ticket_count(self, mailbox: str | None = None) -> Json:
        return self._get("tickets/count", {"mailbox": mailbox} if mailbox else None)

    def get_ticket_state(self, number: int) -> str:
        return str(self._get(f"tickets/{int(number)}/state")["state"])

    def set_ticket_state(self, number: int, state: str) -> None:
        self._send("PUT", f"tickets/{int(number)}/state", {"state": state})

    def get_ticket_assignee(self, number: int) -> Json | None:
        agent: Json | None = self._get(f"tickets/{int(number)}/assignee").get("agent")
        return agent

    def set_ticket_assignee(self, number: int, assignee: str, skip_notifications: bool | None = None) -> None:
        body: Json = {"assignee": assignee}
        if skip_notifications is not None:
            body["skip_notifications"] = skip_notifications
        self._send("PUT", f"tickets/{int(number)}/assignee", body)

    def set_ticket_priority(self, number: int, priority: str) -> None:
        self._send("PUT", f"tickets/{int(number)}/priority", {"priority": priority})

    def set_ticket_assigned_group(self, number: int, group: str) -> None:
        self._send("PUT", f"tickets/{int(number)}/assigned_group", {"group": group})

    def add_tags(self, number: int, tags: list[str]) -> Json | None:
        return self._send("POST", f"tickets/{int(number)}/tags", {"tags": tags}, idempotent=True)

    def replace_tags(self, number: int, tags: list[str]) -> None:
        self._send("PUT", f"tickets/{int(number)}/tags", {"tags": tags})

    def change_mailbox(self, number: int, mailbox_id: str) -> None:
        self._send("POST", f"tickets/{int(number)}/change_mailbox/{seg(mailbox_id)}", {}, idempotent=True)

    # -- messages and attachments ------------------------------------------------------------------
    def list_messages(self, number: int, *, page: int = 1, per_page: int = 50) -> Json:
        return self._get(f"tickets/{int(number)}/messages", {"page": page, "per_page": per_page})

    def iter_messages(self, number: int) -> Iterator[Json]:
        return self.iterate(f"tickets/{int(number)}/messages", "messages")

    def get_message(self, message_id: str) -> Json:
        return self._get(f"messages/{seg(message_id)}")

    def create_message(self, number: int, **fields: Any) -> Json | None:
        return self._send("POST", f"tickets/{int(number)}/messages", fields)

    def list_attachments(self, message_id: str) -> Json:
        return self._get("attachments", {"message": message_id})

    # -- people ------------------------------------------------------------------------------------
    def list_customers(self, *, page: int = 1, per_page: int = 50) -> Json:
        return self._get("customers", {"page": page, "per_page": per_page})

    def iter_customers(self) -> Iterator[Json]:
        return self.iterate("customers", "customers")

    def get_customer(self, ref: str) -> Json:
        return self._get(f"customers/{seg(ref)}")

    def update_customer(self, ref: str, **fields: Any) -> Json | None:
        return self._send("PUT", f"customers/{seg(ref)}", fields)

    def list_agents(self, group: str | None = None) -> Json:
        return self._get("agents", {"group": group} if group else None)

    def get_agent(self, ref: str) -> Json:
        return self._get(f"agents/{seg(ref)}")

    # -- groups --------------------------------------------------------------------------------------
    def list_groups(self) -> Json:
        return self._get("groups")

    def get_group(self, group_id: str) -> Json:
        return self._get(f"groups/{seg(group_id)}")

    def create_group(self, **fields: Any) -> Json | None:
        return self._send("POST", "groups", fields)

    def update_group(self, group_id: str, **fields: Any) -> Json | None:
        return self._send("PUT", f"groups/{seg(group_id)}", fields)

    def delete_group(self, group_id: str) -> Json | None:
        return self._send("DELETE", f"groups/{seg(group_id)}")

    # -- mailboxes and folders -----------------------------------------------------------------------
    def list_mailboxes(self) -> Json:
        return self._get("mailboxes")

    def get_mailbox(self, ref: str) -> Json:
        return self._get(f"mailboxes/{seg(ref)}")

    def list_folders(self, mailbox: str | None = None) -> Json:
        return self._get("folders", {"mailbox": mailbox} if mailbox else None)

    # -- webhooks ------------------------------------------------------------------------------------
    def list_webhooks(self) -> Json:
        return self._get("webhooks")

    def get_webhook(self, webhook_id: str) -> Json:
        return self._get(f"webhooks/{seg(webhook_id)}")

    def create_webhook(self, event: str, url: str) -> Json | None:
        return self._send("POST", "webhooks", {"event": event, "url": url})

    def delete_webhook(self, webhook_id: str) -> None:
        self._send("DELETE", f"webhooks/{seg(webhook_id)}")

    # -- widgets -------------------------------------------------------------------------------------
    def list_widgets(self) -> Json:
        return self._get("widgets")

    def get_widget(self, widget_id: str) -> Json:
        return self._get(f"widgets/{seg(widget_id)}")

    def update_widget(self, widget_id: str, **fields: Any) -> Json | None:
        return self._send("PUT", f"widgets/{seg(widget_id)}", fields)

    def get_widget_settings(self, widget_id: str) -> Json:
        return self._get(f"widgets/{seg(widget_id)}/settings")

    def update_widget_settings(self, widget_id: str, settings: Json) -> Json | None:
        return self._send("PUT", f"widgets/{seg(widget_id)}/settings", settings)

    # -- knowledge bases -----------------------------------------------------------------------------
    def list_knowledge_bases(self) -> Json:
        return self._get("kb")

    def get_knowledge_base(self, kb_id: str) -> Json:
        return self._get(f"kb/{seg(kb_id)}")

    def create_knowledge_base(self, **fields: Any) -> Json | None:
        return self._send("POST", "kb", fields)

    def update_knowledge_base(self, kb_id: str, **fields: Any) -> Json | None:
        return self._send("PUT", f"kb/{seg(kb_id)}", fields)

    def get_knowledge_base_settings(self, kb_id: str) -> Json:
        return self._get(f"kb/{seg(kb_id)}/settings")

    def update_knowledge_base_settings(self, kb_id: str, settings: Json) -> Json | None:
        return self._send("PUT", f"kb/{seg(kb_id)}/settings", settings)

    def list_themes(self) -> Json:
        return self._get("kb/themes")

    # -- categories ----------------------------------------------------------------------------------
    def list_categories(self, kb_id: str, *, page: int = 1, per_page: int = 50, **filters: Any) -> Json:
        return self._get(f"kb/{seg(kb_id)}/categories", {"page": page, "per_page": per_page, **filters})

    def search_categories(self, kb_id: str, keyword: str, **filters: Any) -> Json:
        return self._get(f"kb/{seg(kb_id)}/categories/search", {"keyword": keyword, **filters})

    def get_category(self, kb_id: str, category_id: str) -> Json:
        return self._get(f"kb/{seg(kb_id)}/categories/{seg(category_id)}")

    def create_category(self, kb_id: str, **fields: Any) -> Json | None:
        return self._send("POST", f"kb/{seg(kb_id)}/categories", fields)

    def update_category(self, kb_id: str, category_id: str, **fields: Any) -> Json | None:
        return self._send("PUT", f"kb/{seg(kb_id)}/categories/{seg(category_id)}", fields)

    def delete_category(self, kb_id: str, category_id: str) -> Json | None:
        return self._send("DELETE", f"kb/{seg(kb_id)}/categories/{seg(category_id)}")

    # -- articles ------------------------------------------------------------------------------------
    def list_articles(self, kb_id: str, *, page: int = 1, per_page: int = 50, **filters: Any) -> Json:
        return self._get(f"kb/{seg(kb_id)}/articles", {"page": page, "per_page": per_page, **filters})

    def search_articles(self, kb_id: str, keyword: str, **filters: Any) -> Json:
        return self._get(f"kb/{seg(kb_id)}/articles/search", {"keyword": keyword, **filters})

    def iter_search_articles(self, kb_id: str, keyword: str, **filters: Any) -> Iterator[Json]:
        return self.iterate(f"kb/{seg(kb_id)}/articles/search", "articles", keyword=keyword, **filters)

    def get_article(self, kb_id: str, article_id: str) -> Json:
        return self._get(f"kb/{seg(kb_id)}/articles/{seg(article_id)}")

    def create_article(self, kb_id: str, **fields: Any) -> Json | None:
        return self._send("POST", f"kb/{seg(kb_id)}/articles", fields)

    def update_article(self, kb_id: str, article_id: str, **fields: Any) -> Json | None:
        return self._send("PUT", f"kb/{seg(kb_id)}/articles/{seg(article_id)}", fields)

    def delete_article(self, kb_id: str, article_id: str) -> Json | None:
        return self._send("DELETE", f"kb/{seg(kb_id)}/articles/{seg(article_id)}")
