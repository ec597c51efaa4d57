"""A 405 names what the resource does allow (RFC 9110 15.5.6): every method of every route at the path.

Starlette answers 405 from the first route whose path matches, with only that route's methods, though
``GET /webhooks`` and ``POST /webhooks`` are two routes of one resource; and its vendor error handlers
dropped the header altogether. The gate sets it for every emulated API.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from engagesync.sandbox.app import Sandbox


def auth_for(creds: dict[str, Any], api: str) -> dict[str, str]:
    if api == "groove-helpdesk":
        return {"Authorization": f"Bearer {creds[api]['token']}"}
    return {"Authorization": creds[api]["api_key"]}


@pytest.mark.parametrize(
    ("api", "method", "path", "allow"),
    [
        ("groove-helpdesk", "PUT", "/groove-helpdesk/v1/webhooks", "GET, HEAD, POST"),
        ("groove-helpdesk", "POST", "/groove-helpdesk/v1/webhooks/1", "GET, HEAD, DELETE"),
        ("groove-helpdesk", "DELETE", "/groove-helpdesk/v1/kb/themes", "GET, HEAD"),
        ("groove-helpdesk", "DELETE", "/groove-helpdesk/v1/openapi.json", "GET, HEAD"),
        ("growthgenius", "DELETE", "/growthgenius/integrations/v1/users", "GET, HEAD"),
        ("growthgenius", "PUT", "/growthgenius/integrations/v1/contacts", "GET, HEAD, POST"),
    ],
)
def test_a_rest_405_carries_allow(sandbox: Sandbox, api: str, method: str, path: str, allow: str) -> None:
    creds = sandbox.credentials()
    with sandbox.client(headers=auth_for(creds, api)) as client:
        response = client.request(method, path, params={"user_id": creds["growthgenius"]["user_id"]})
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.json()  # still the vendor's error body


def test_a_graphql_mutation_over_get_405_carries_allow(sandbox: Sandbox) -> None:
    creds = sandbox.credentials()["volt"]
    with sandbox.client(headers={"Authorization": f"Bearer {creds['token']}"}) as client:
        response = client.get(creds["graphql_url"], params={"query": "mutation { __typename }"})
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "GET, HEAD, POST"


def test_other_statuses_carry_no_allow(sandbox: Sandbox) -> None:
    creds = sandbox.credentials()
    with sandbox.client(headers=auth_for(creds, "groove-helpdesk")) as client:
        assert "allow" not in client.get("/groove-helpdesk/v1/webhooks").headers


@pytest.mark.parametrize("api", ["groove-helpdesk", "growthgenius"])
def test_every_documented_path_answers_an_undocumented_method_with_the_documented_allow(
    sandbox: Sandbox, api: str
) -> None:
    """What schemathesis's ``allow_header_conformance`` holds a 405 to, for every path of the document."""
    from engagesync.apis.groove_helpdesk.openapi import SPEC as GROOVE_SPEC
    from engagesync.apis.growthgenius.openapi import SPEC as GG_SPEC
    from engagesync.sandbox.openapi import operations

    document = yaml.safe_load((GROOVE_SPEC if api == "groove-helpdesk" else GG_SPEC).read_text())
    creds = sandbox.credentials()
    prefix = creds[api]["base_url"].removeprefix("http://sandbox")
    documented: dict[str, set[str]] = {}
    for method, path in operations(document):
        documented.setdefault(path, set()).add(method)
    with sandbox.client(headers=auth_for(creds, api)) as client:
        for path, methods in documented.items():
            concrete = re.sub(r"\{[^}]*\}", "1", path)
            response = client.request(
                "OPTIONS", prefix + concrete, params={"user_id": creds["growthgenius"]["user_id"]}
            )
            assert response.status_code == 405, (path, response.status_code, response.text)
            allowed = set(response.headers["allow"].split(", "))
            assert allowed == methods | ({"HEAD"} if "GET" in methods else set()), path
