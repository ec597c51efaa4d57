"""The connector contract: what every API's connector gives the engines, typed.

The sync engine and the CLI reach an API only through a ``Connector`` found in the registry: its
settings (types, secrets marked), how to build a client, its streams and actions, how to connect to a
running sandbox, and its OAuth endpoints if it has any. Nothing outside an API's own folder looks a
feature up by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from .actions import ActionSpec
from .http import ApiClient
from .streams import Stream

__all__ = ["Connector", "OAuthEndpoints", "SandboxLink", "Setting", "WebhookScheme", "WebhooksUnsupported"]


@dataclass(frozen=True)
class Setting:
    """One value a connection holds. Secrets live in the connection's ``secrets`` and are never shown."""

    name: str
    kind: type = str
    secret: bool = False
    required: bool = False
    description: str = ""
    #: Passed to ``make_client`` (secrets always are).
    client: bool = True
    #: Passed to ``streams`` (e.g. the account whose conversations are read).
    streams: bool = False

    def coerce(self, value: Any) -> Any:
        """``value`` as this setting's type (connection files hold strings from the command line)."""
        if value is None or isinstance(value, self.kind):
            return value
        if self.kind is bool:
            return str(value).strip().lower() in {"1", "true", "yes", "on"}
        try:
            return self.kind(value)
        except (TypeError, ValueError):
            return value  # the connector's own check names the setting and what it needs


@dataclass(frozen=True)
class OAuthEndpoints:
    authorize_url: str
    token_url: str


@dataclass(frozen=True)
class SandboxLink:
    """What ``connect --sandbox`` saves for one API: where, with which secrets and settings."""

    base_url: str
    secrets: dict[str, str]
    settings: dict[str, Any] = field(default_factory=dict)


#: How a connector builds a client: ``make_client(base_url, **secrets_settings_and_tuning)``.
ClientMaker = Callable[..., ApiClient]


@dataclass(frozen=True)
class WebhookScheme:
    """How an API's webhooks are authenticated and read (the receiver's engine knows only this).

    ``kind``: ``standard`` (Standard Webhooks, HMAC or Ed25519), ``rsa-sha256`` (RSA PKCS#1 v1.5 SHA-256
    over the raw body, key pinned at registration) or ``url-secret`` (nothing signed: the URL's secret).
    """

    kind: str = "standard"
    #: The header carrying the signature (``rsa-sha256``).
    signature_header: str | None = None
    #: The header naming the event (``url-secret`` senders such as Groove's ``X-Groove-Event``).
    event_header: str | None = None
    #: The signed body's field that identifies a delivery (dedupe key); else a hash of the signed content.
    id_field: str | None = None
    #: Path in the JSON body to the event type (``("payload", "event_type")``), when not in a header.
    type_path: tuple[str, ...] = ()
    #: Columns (DuckDB types) the events table gets beyond id/type/received_at/scheme/raw body, and the
    #: path in the JSON body each is read from.
    columns: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)


class WebhooksUnsupported(Exception):
    """The API has no webhook registration engagesync can drive."""


class Connector(ABC):
    """Base class of every API's connector; one instance per API, registered under ``api``.

    The API's own functions are handed in (``make_client``, ``streams``, ``actions``, ``check``), so a
    connector class holds only what is particular to it: its settings, ``from_sandbox`` and OAuth."""

    #: The API id (``groove-helpdesk``), as in connections and the sandbox's credentials.
    api: ClassVar[str]
    #: The real API's base URL, when ``connect`` can default it.
    default_base_url: ClassVar[str | None] = None
    #: The rate window assumed until the server tells otherwise.
    window_seconds: ClassVar[float] = 60.0
    #: What a connection of this API holds (secrets included).
    settings: ClassVar[tuple[Setting, ...]] = ()
    #: Tokens rotate (OAuth): ``make_client`` takes ``on_rotate`` and the engine persists each pair.
    persists_tokens: ClassVar[bool] = False
    #: ``connect --client-id`` authorizes it with the OAuth code flow (see ``oauth_endpoints``).
    oauth: ClassVar[bool] = False

    def __init__(
        self,
        *,
        make_client: ClientMaker,
        streams: Callable[..., Mapping[str, Stream]],
        actions: Callable[[], Mapping[str, ActionSpec]],
        check: Callable[[ApiClient], dict[str, Any]],
    ) -> None:
        self._make_client, self._streams, self._actions, self._check = make_client, streams, actions, check

    # -- building --------------------------------------------------------------------------------
    def make_client(self, base_url: str, **kwargs: Any) -> ApiClient:
        """A client for the API; ``kwargs`` are secrets, client settings and tuning (``on_wait``...)."""
        return self._make_client(base_url, **kwargs)

    def client(
        self, base_url: str, secrets: Mapping[str, str], settings: Mapping[str, Any], **tuning: Any
    ) -> ApiClient:
        """``make_client`` with the connection's secrets and the settings marked for the client."""
        options = _values(self.client_settings(), settings)
        return self.make_client(base_url, **secrets, **{**options, **tuning})

    def streams(self, **settings: Any) -> Mapping[str, Stream]:
        """The source streams by name, in pull order, given the settings marked for streams."""
        return self._streams(**settings)

    def streams_for(self, settings: Mapping[str, Any]) -> Mapping[str, Stream]:
        return self.streams(**_values(tuple(s for s in self.settings if s.streams), settings))

    def actions(self) -> Mapping[str, ActionSpec]:
        """The destination actions (templates) by name."""
        return self._actions()

    def check(self, client: ApiClient) -> dict[str, Any]:
        """Test the credential with one cheap call; raises ``AuthError`` when refused."""
        return self._check(client)

    # -- connecting ------------------------------------------------------------------------------
    @abstractmethod
    def from_sandbox(self, creds: Mapping[str, Any], transport: httpx.BaseTransport | None = None) -> SandboxLink:
        """A connection to a running sandbox from its ``/_sandbox/credentials`` entry for this API."""

    def oauth_endpoints(self, base_url: str) -> OAuthEndpoints | None:
        """Where an OAuth API authorizes and issues tokens for ``base_url``; ``None``: no OAuth."""
        return None

    # -- webhooks (optional: the defaults mean "Standard Webhooks, registered by hand") ---------------
    def webhook_scheme(self) -> WebhookScheme:
        """How this API's webhook requests are verified and read."""
        return WebhookScheme()

    def webhook_signing_key(self, client: ApiClient) -> str | None:
        """The API's published webhook verification key (text), fetched at registration; ``None``: none."""
        return None

    def register_webhook(self, client: ApiClient, url: str, events: list[str] | None) -> list[str]:
        """Create the API's webhook(s) sending to ``url``; returns their ids."""
        raise WebhooksUnsupported(f"{self.api} has no webhook API engagesync can register with")

    def list_webhooks(self, client: ApiClient) -> list[dict[str, Any]]:
        """The API's webhooks: ``{"id", "url", "event"}`` each."""
        raise WebhooksUnsupported(f"{self.api} has no webhook API engagesync can list")

    def delete_webhook(self, client: ApiClient, webhook_id: str) -> None:
        raise WebhooksUnsupported(f"{self.api} has no webhook API engagesync can delete from")

    # -- derived ---------------------------------------------------------------------------------
    def client_settings(self) -> tuple[Setting, ...]:
        return tuple(s for s in self.settings if s.client and not s.secret)


def _values(wanted: tuple[Setting, ...], settings: Mapping[str, Any]) -> dict[str, Any]:
    """The connection's values of ``wanted`` settings, each as its setting's type."""
    return {s.name: s.coerce(settings[s.name]) for s in wanted if settings.get(s.name) is not None}
