"""OAuth 2.0 for API clients: a shared token holder (refresh, rotation, persistence) and the token
request it makes (the authorization-code flow that obtains the first pair is ``oauth_flow.py``).

The holder is a ``Credential`` (an ``httpx.Auth``): one per credential, shared by every stream and
thread through the ``ApiClient``, guarded by a lock so one refresh serves everyone.

- The access token is refreshed before it expires, with a margin. Expiry is ``created_at +
  expires_in`` in the *server's* time; the server's clock is learned from the ``Date`` headers of the
  token and API responses (the same interval estimate the rate budget uses), so a skewed local clock
  neither refreshes too late nor on every request.
- Since the check runs in ``auth_flow``, it runs on every attempt of ``ApiClient``'s retry loop: a
  long backoff or rate-limit wait cannot make a retry go out with an expired token.
- A 401 forces exactly one refresh (unless another thread already replaced the token that was
  refused), then the request is sent once more; a second 401 is the caller's ``AuthError``.
- Refresh tokens rotate at most providers (Groove/Doorkeeper revokes the old one at once), so every
  new pair is handed to ``on_rotate`` before it is used: the connection store writes it atomically
  (0600), and a process killed right after a refresh still finds a working refresh token on disk.
- Processes share a credential through a ``TokenStore`` (the connection file) given as ``on_rotate``:
  a refresh takes the store's cross-process lock, re-reads it, and refreshes only if the token there is
  still the one this process holds (else it adopts the other process's pair). A token response lost
  after the server rotated is asked for once more (Doorkeeper keeps the old refresh token until the new
  access token is used), and on ``invalid_grant`` the store is re-read once for a newer pair before the
  holder gives up with "connect again".
- ``secrets()`` lists the client secret and every token the holder has held, for redaction.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .auth import Credential
from .budget import ClockSync
from .errors import (
    ApiError,
    AuthError,
    EngageSyncError,
    TransportError,
    error_for_status,
    redact_text,
    redact_url,
)

#: Refresh this many seconds before the access token's expiry (server time).
DEFAULT_MARGIN = 300.0
#: OAuth error codes meaning "this credential is no good": reconnect, do not retry.
REFUSED = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "access_denied"})

RotateListener = Callable[[dict[str, str]], None]


class TokenStore(ABC):
    """Where a credential's tokens live outside the process, shared with other processes (a
    connection file). Passed as ``on_rotate``, it makes the holder coordinate its refreshes."""

    @abstractmethod
    def locked(self) -> AbstractContextManager[object]:
        """Exclusive across processes while held: one refresh of this credential at a time."""

    @abstractmethod
    def load(self) -> dict[str, str] | None:
        """The secrets stored now (``access_token``, ``refresh_token``, ``token_expires_at``), if any."""

    @abstractmethod
    def save(self, secrets: dict[str, str]) -> None:
        """Store a refreshed pair (atomically) before it is used."""

    def __call__(self, secrets: dict[str, str]) -> None:
        self.save(secrets)


class AuthorizationFailed(EngageSyncError):
    """The authorization step did not produce a code (denied, state mismatch, nothing received)."""


@dataclass(frozen=True)
class OAuthApp:
    """An OAuth client registration: where tokens come from and who asks for them."""

    token_url: str
    client_id: str
    client_secret: str
    authorize_url: str | None = None
    redirect_uri: str | None = None
    scope: str = ""


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None = None
    #: Epoch seconds in the server's time; ``None`` when the server gave no lifetime.
    expires_at: float | None = None
    scope: str = ""

    def as_secrets(self) -> dict[str, str]:
        """What a connection file stores (every value a string)."""
        out = {"access_token": self.access_token}
        if self.refresh_token:
            out["refresh_token"] = self.refresh_token
        if self.expires_at is not None:
            out["token_expires_at"] = str(int(self.expires_at))
        return out

    @classmethod
    def from_response(cls, body: dict[str, Any], server_now: float) -> TokenSet:
        """From a token response: expiry = ``created_at`` (else the server's now) + ``expires_in``."""
        lifetime = _number(body.get("expires_in"))
        created = _number(body.get("created_at"))
        expires = None if lifetime is None else (created if created is not None else server_now) + lifetime
        return cls(str(body["access_token"]), body.get("refresh_token") or None, expires, str(body.get("scope") or ""))

    @classmethod
    def from_secrets(cls, secrets: dict[str, str], scope: str = "") -> TokenSet | None:
        """From what a connection file stores (``as_secrets``); ``None`` without an access token."""
        if not secrets.get("access_token"):
            return None
        expires = _number(secrets.get("token_expires_at"))
        return cls(str(secrets["access_token"]), secrets.get("refresh_token") or None, expires, scope)


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and str(value).strip() != "" else None
    except (TypeError, ValueError):
        return None


def _observe_date(sync: ClockSync, response: httpx.Response, sent: float) -> None:
    date = response.headers.get("date")
    if date:
        with contextlib.suppress(TypeError, ValueError):
            sync.observe(parsedate_to_datetime(date).timestamp(), sent, time.time())


def request_token(
    http: httpx.Client, app: OAuthApp, grant: dict[str, str], sync: ClockSync | None = None, attempts: int = 3
) -> TokenSet:
    """POST a grant to the token URL (JSON body, as Groove's document shows) and parse the answer.

    The redirect URI goes under both spellings the document uses (``redirect_uri`` and the curl
    example's ``redirect_url``). Only a refused connection is retried: any other failure may have
    consumed a single-use code or refresh token, and sending it again cannot help.
    """
    body = {**grant, "client_id": app.client_id, "client_secret": app.client_secret}
    if app.redirect_uri:
        body.setdefault("redirect_uri", app.redirect_uri)
        body.setdefault("redirect_url", body["redirect_uri"])
    hidden = [app.client_secret, *(v for k, v in grant.items() if k in ("code", "refresh_token"))]
    safe_url = redact_url(app.token_url, hidden)
    sync = sync if sync is not None else ClockSync()
    for attempt in range(1, attempts + 1):
        sent = time.time()
        try:
            response = http.post(app.token_url, json=body, headers={"Accept": "application/json"})
            break
        except httpx.ConnectError as exc:
            if attempt == attempts:
                raise TransportError(
                    f"cannot reach the token endpoint ({type(exc).__name__})", "POST", safe_url, maybe_sent=False
                ) from None
            time.sleep(0.2 * attempt)
        except httpx.TransportError as exc:
            raise TransportError(
                f"{type(exc).__name__} at the token endpoint; the grant may have been used",
                "POST",
                safe_url,
                maybe_sent=True,
            ) from None
    _observe_date(sync, response, sent)
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code >= 400 or not isinstance(payload, dict) or "access_token" not in payload:
        error = payload.get("error") if isinstance(payload, dict) else None
        described = payload.get("error_description") if isinstance(payload, dict) else None
        message = f"{error}: {described}" if error and described else str(error or described or response.text[:200])
        message = redact_text(message, hidden)  # a server may echo what it got (the secret, the grant)
        cls = (
            AuthError
            if error in REFUSED or response.status_code == 401
            else error_for_status(max(response.status_code, 400))
        )
        raise cls(response.status_code, [message or f"HTTP {response.status_code}"], "POST", safe_url, None)
    now = sync.midpoint(time.time())
    return TokenSet.from_response(payload, now)


class OAuthHolder(Credential):
    """The one token holder of a credential, shared by all streams and threads (see the module doc)."""

    def __init__(
        self,
        app: OAuthApp,
        tokens: TokenSet,
        *,
        transport: httpx.BaseTransport | None = None,
        on_rotate: RotateListener | None = None,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.app = app
        self._tokens = tokens
        self._listeners: list[RotateListener] = [on_rotate] if on_rotate is not None else []
        self.margin = margin
        self._clock = clock
        self._http = httpx.Client(transport=transport, timeout=timeout, headers={"User-Agent": "engagesync"})
        self._lock = threading.RLock()
        self.sync = ClockSync()
        self._held: list[str] = [t for t in (tokens.access_token, tokens.refresh_token) if t]
        #: How many refreshes this holder made, and why (``"expiring"`` or ``"401"``): for tests and progress.
        self.refreshes: list[str] = []

    # -- the credential side -------------------------------------------------------------------
    @property
    def tokens(self) -> TokenSet:
        with self._lock:
            return self._tokens

    def secrets(self) -> list[str]:
        with self._lock:
            return [s for s in (self.app.client_secret, *self._held) if s]

    def add_listener(self, on_rotate: RotateListener) -> None:
        """Also hand every refreshed pair to ``on_rotate`` (another client sharing this holder)."""
        with self._lock:
            if on_rotate not in self._listeners:
                self._listeners.append(on_rotate)

    def held(self) -> list[str]:
        """Every access and refresh token this holder has held (not the client secret)."""
        with self._lock:
            return list(self._held)

    def server_now(self) -> float:
        """The latest the server's clock can read now (expiry is judged pessimistically)."""
        local = self._clock()
        if math.isfinite(self.sync.high):
            return local + self.sync.high
        return local + self.sync.low + 1.0 if self.sync.known else local

    def expiring(self) -> bool:
        expires = self.tokens.expires_at
        return expires is not None and self.server_now() >= expires - self.margin

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            if self.expiring() and self._tokens.refresh_token:
                self._refresh("expiring")
            used = self._tokens.access_token
        request.headers["Authorization"] = f"Bearer {used}"
        sent = time.time()
        response = yield request
        _observe_date(self.sync, response, sent)
        if response.status_code != 401:
            return
        with self._lock:
            if self._tokens.access_token == used:  # nobody replaced it meanwhile: this thread refreshes
                if not self._tokens.refresh_token:
                    return
                self._refresh("401", used)
            request.headers["Authorization"] = f"Bearer {self._tokens.access_token}"
        yield request

    def refresh(self) -> TokenSet:
        """Refresh now (e.g. ``engagesync check``); returns the new tokens."""
        with self._lock:
            self._refresh("asked")
            return self._tokens

    def _store(self) -> TokenStore | None:
        return next((x for x in self._listeners if isinstance(x, TokenStore)), None)

    def _adopt(self, stored: dict[str, str] | None) -> bool:
        """Take the pair another process stored if it differs from ours; True when taken."""
        tokens = TokenSet.from_secrets(stored or {}, self._tokens.scope)
        if tokens is None or (tokens.access_token, tokens.refresh_token) == (
            self._tokens.access_token,
            self._tokens.refresh_token,
        ):
            return False
        self._held.extend(t for t in (tokens.access_token, tokens.refresh_token) if t and t not in self._held)
        self._tokens = tokens
        return True

    def _refresh(self, why: str, used: str | None = None) -> None:
        """Refresh under the store's lock, unless the store already holds a newer pair (another process
        refreshed): then that pair is used and nothing is sent."""
        store = self._store()
        with store.locked() if store is not None else contextlib.nullcontext():
            if store is not None and self._adopt(store.load()):
                newer = self._tokens.access_token != used if why == "401" else not self.expiring()
                if why != "asked" and newer:
                    return
            self._refresh_now(why, store)

    def _refresh_now(self, why: str, store: TokenStore | None) -> None:
        refresh_token = self._tokens.refresh_token
        if not refresh_token:
            raise AuthError(
                401,
                ["the access token expired and there is no refresh token; connect again"],
                "POST",
                redact_url(self.app.token_url),
                None,
            )
        try:
            tokens = self._grant(refresh_token)
        except AuthError as exc:
            # Someone outside this lock (another engagesync, a new `connect`) may have rotated it: re-read once.
            if store is None or not self._adopt(store.load()):
                raise self._refused(exc) from None
            if not self.expiring():
                return
            try:
                tokens = self._grant(str(self._tokens.refresh_token))
            except AuthError as again:
                raise self._refused(again) from None
            refresh_token = str(self._tokens.refresh_token)
        if tokens.refresh_token is None:  # a provider that does not rotate keeps the old one valid
            tokens = TokenSet(tokens.access_token, refresh_token, tokens.expires_at, tokens.scope)
        self._held.extend(t for t in (tokens.access_token, tokens.refresh_token) if t and t not in self._held)
        self._tokens = tokens
        self.refreshes.append(why)
        for listener in self._listeners:  # persisted before first use: the old refresh token dies on that use
            listener(tokens.as_secrets())

    def _grant(self, refresh_token: str) -> TokenSet:
        """One refresh; a response lost after the server may have rotated is asked for once more (a
        Doorkeeper server keeps the old refresh token until the new access token is used)."""
        grant = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        try:
            return request_token(self._http, self.app, grant, self.sync)
        except TransportError as exc:
            if not exc.maybe_sent:
                raise
            return request_token(self._http, self.app, grant, self.sync)

    def _refused(self, exc: AuthError) -> AuthError:
        return AuthError(
            exc.status,
            [
                f"the refresh token was refused ({exc.reason}) and no newer one was saved; "
                "run `engagesync connect` again to authorize"
            ],
            exc.method,
            exc.url,
            None,
        )

    def close(self) -> None:
        self._http.close()


_HOLDERS: weakref.WeakSet[OAuthHolder] = weakref.WeakSet()
_HOLDERS_LOCK = threading.Lock()


def shared_holder(app: OAuthApp, tokens: TokenSet, **kwargs: Any) -> OAuthHolder:
    """The live holder of this credential if the process has one, else a new one (one per credential).

    A holder is the same credential when it belongs to the same app and has held ``tokens``'s refresh
    token (or access token): a second client made from a connection read before a rotation must not
    refresh with the refresh token the first one already spent (the server refuses it).
    """
    mine = tokens.refresh_token or tokens.access_token
    with _HOLDERS_LOCK:
        for holder in list(_HOLDERS):
            if (holder.app.token_url, holder.app.client_id) == (app.token_url, app.client_id) and mine in holder.held():
                if kwargs.get("on_rotate") is not None:
                    holder.add_listener(kwargs["on_rotate"])
                return holder
        holder = OAuthHolder(app, tokens, **kwargs)
        _HOLDERS.add(holder)
        return holder


__all__ = [
    "ApiError",
    "AuthorizationFailed",
    "OAuthApp",
    "OAuthHolder",
    "TokenSet",
    "TokenStore",
    "request_token",
    "shared_holder",
]
