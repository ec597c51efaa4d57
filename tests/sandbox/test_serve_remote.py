"""`engagesync sandbox serve` as a real process: a busy port, and binding beyond loopback.

Every request goes to 127.0.0.1, also when the server binds 0.0.0.0: no test contacts another address.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engagesync.testing import make_sandbox

SERVE = [sys.executable, "-m", "engagesync.cli.main", "sandbox", "serve"]
SECRETS = {
    "groove-helpdesk": ("token",),
    "growthgenius": ("api_key",),
    "groove-sales": ("client_id", "client_secret"),
    "volt": ("token",),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


@pytest.fixture(scope="module")
def defaults() -> dict[str, Any]:
    """The credentials every install seeds (seed 0, default tenant)."""
    with make_sandbox(seed=0) as sb:
        return sb.credentials()


def test_serve_on_a_busy_port_names_the_port_and_prints_no_table() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = _run("--port", str(port))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"port {port} is in use" in output
    assert "--port" in output
    assert "engagesync sandbox on" not in output and "/_sandbox" not in output
    assert "Traceback" not in output and len(output.strip().splitlines()) == 1


def test_a_host_beyond_loopback_needs_allow_remote() -> None:
    port = _free_port()
    result = _run("--host", "0.0.0.0", "--port", str(port))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "--allow-remote" in output and "0.0.0.0" in output
    assert "engagesync sandbox on" not in output
    with socket.socket() as probe:  # nothing was bound: the port is still free
        probe.bind(("127.0.0.1", port))


@pytest.fixture(scope="module")
def remote() -> Iterator[tuple[str, dict[str, str]]]:
    """A server bound to 0.0.0.0 with --allow-remote: (its loopback URL, the credentials it printed)."""
    port = _free_port()
    proc = subprocess.Popen(
        [*SERVE, "--host", "0.0.0.0", "--port", str(port), "--allow-remote"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    url = f"http://127.0.0.1:{port}"
    printed: dict[str, str] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the credentials are printed before the server starts answering
            if " = " in line:
                key, _, value = line.strip().partition(" = ")
                printed[key] = value
            if "volt.token" in printed:
                break
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/_sandbox/health", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(proc.stderr.read() if proc.stderr else "serve died") from None
                time.sleep(0.1)
        yield url, printed
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "warning" in err and "0.0.0.0" in err  # printed once, before the URL table
        assert err.index("warning") < err.index("engagesync sandbox on")


def test_remote_serve_prints_random_credentials_once(
    remote: tuple[str, dict[str, str]], defaults: dict[str, Any]
) -> None:
    url, printed = remote
    live = httpx.get(f"{url}/_sandbox/credentials").json()  # the admin API answers loopback clients
    for api, fields in SECRETS.items():
        for field in fields:
            assert printed[f"{api}.{field}"] == live[api][field]
            assert live[api][field] != defaults[api][field], f"{api}.{field} is the seeded default"


def test_remote_serve_refuses_the_seeded_default_credentials(
    remote: tuple[str, dict[str, str]], defaults: dict[str, Any]
) -> None:
    url, printed = remote
    live = httpx.get(f"{url}/_sandbox/credentials").json()
    helpdesk = f"{url}/groove-helpdesk/v1/tickets"
    for token, status in ((defaults["groove-helpdesk"]["token"], 401), (printed["groove-helpdesk.token"], 200)):
        assert httpx.get(helpdesk, headers={"Authorization": f"Bearer {token}"}).status_code == status
    gg = f"{url}/growthgenius/integrations/v1/users"
    user_id = live["growthgenius"]["user_id"]
    for key, status in ((defaults["growthgenius"]["api_key"], 401), (printed["growthgenius.api_key"], 200)):
        assert httpx.get(gg, params={"user_id": user_id}, headers={"Authorization": key}).status_code == status
    query = {"query": "{ __typename }"}
    for token, status in ((defaults["volt"]["token"], 401), (printed["volt.token"], 200)):
        reply = httpx.post(f"{url}/volt/graphql", json=query, headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == status
    old = defaults["groove-sales"]
    grant = {"grant_type": "refresh_token", "refresh_token": "x"}
    refused = httpx.post(live["groove-sales"]["token_url"], data=grant, auth=(old["client_id"], old["client_secret"]))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


def test_randomized_credentials_stay_random_across_resets_and_new_tenants(defaults: dict[str, Any]) -> None:
    with make_sandbox(seed=0) as sb:
        sb.ctx.randomize_credentials()
        first = sb.credentials()
        sb.reset(seed=0)
        again = sb.credentials()
        tenant = sb.ctx.create_tenant(seed=0)
        other = sb.credentials(tenant.id)
    for api, fields in SECRETS.items():
        for field in fields:
            assert first[api][field] != defaults[api][field]
            assert again[api][field] != defaults[api][field]
            assert other[api][field] not in (defaults[api][field], again[api][field])


def test_loopback_hosts_need_no_allow_remote() -> None:
    from engagesync.cli.sandbox_cmd import is_loopback_host

    assert is_loopback_host("127.0.0.1") and is_loopback_host("localhost") and is_loopback_host("::1")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("::")
