"""Reading a request's credential, the one copy every emulated API's ``authenticate`` uses.

The scheme name is case-insensitive (RFC 7235 2.1), so ``bearer x`` is as good as ``Bearer x``;
an empty token is no token. Whether ``?access_token=`` (RFC 6750 2.3) also counts is the API's call.
"""

from __future__ import annotations

from starlette.requests import Request

SCHEME = "bearer "


def bearer_token(source: Request | str | None, *, query_param: str | None = None) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (a request, or the header's value), or ``None``.

    With ``query_param`` and a request without a Bearer token, that query parameter's value instead.
    """
    header = source.headers.get("authorization", "") if isinstance(source, Request) else source or ""
    if header[: len(SCHEME)].lower() == SCHEME and (token := header[len(SCHEME) :].strip()):
        return token
    if query_param and isinstance(source, Request):
        return source.query_params.get(query_param) or None
    return None
