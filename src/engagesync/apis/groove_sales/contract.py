"""What both sides of Groove sales (grooveapp.com) agree on: paths, OAuth settings, the schema, ids.

The real API lives at ``https://app.grooveapp.com/api/public/v1/graphql`` with OAuth at
``https://auth.grooveapp.com/oauth/...``; the sandbox serves both under ``/groove-sales``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

#: The published schema as SDL (the emulator executes it; a connector can validate against it).
SCHEMA_PATH = Path(__file__).with_name("schema.graphql")

REAL_GRAPHQL_URL = "https://app.grooveapp.com/api/public/v1/graphql"
REAL_AUTH_BASE = "https://auth.grooveapp.com"

GRAPHQL_PATH = "/api/public/v1/graphql"
AUTHORIZE_PATH = "/oauth/authorize"
#: The newer document's refresh path; also the token path the sandbox hands out.
TOKEN_PATH = "/oauth/token"
#: Every path the documents post to for tokens: prose, curl example, newer and older refresh.
TOKEN_PATHS = ("/oauth/token", "/oauth/authorize/token", "/oauth/authorize", "/oauth/token/refresh")
REVOKE_PATH = "/oauth/revoke"

ACCESS_TOKEN_TTL = 7200  # "An access token expires 2 hours after creation"
CODE_TTL = 600  # "expire after 10 minutes"
RATE_LIMIT = 100  # per minute, per OAuth token
RATE_WINDOW = 60.0

#: Relay connections never return more than this many edges (graphql-ruby's max_page_size).
MAX_PAGE_SIZE = 100


@cache
def sdl() -> str:
    return SCHEMA_PATH.read_text()


_SF_CHECK = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_18(sf_id: str) -> str:
    """The 18-character, case-insensitive form of a 15- or 18-character Salesforce id."""
    if len(sf_id) == 18:
        return sf_id
    if len(sf_id) != 15 or not sf_id.isalnum():
        raise ValueError("a Salesforce id has 15 or 18 letters and digits")
    suffix = ""
    for chunk in (sf_id[0:5], sf_id[5:10], sf_id[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _SF_CHECK[bits]
    return sf_id + suffix
