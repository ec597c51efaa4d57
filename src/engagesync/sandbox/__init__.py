"""The sandbox engine: serves emulated APIs (handed in by the caller) with state, clock, limits,
faults, webhooks and OAuth. API-neutral: every API plugs in as an ``EmulatedApi``."""

from __future__ import annotations

from .api import AuthResult, EmulatedApi
from .app import IN_PROCESS_URL, Sandbox, SandboxApp, ServerThread
from .clock import VirtualClock
from .context import SandboxContext
from .ratelimit import RateLimit

__all__ = [
    "IN_PROCESS_URL",
    "AuthResult",
    "EmulatedApi",
    "RateLimit",
    "Sandbox",
    "SandboxApp",
    "SandboxContext",
    "ServerThread",
    "VirtualClock",
]
