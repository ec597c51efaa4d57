"""The web console (``engagesync console``): Nexla's destination screens and the sandbox's controls.

``app`` builds the Starlette application: every page and every JSON endpoint calls the same engine
functions as the CLI (``sync.destinations``, ``sync.connectors``, ``sync.pull``); ``security`` holds
the access token, the CSRF token and the loopback check; ``forms`` turns the destination form into the
options ``destinations.apply_options`` takes, as the CLI's flags do.
"""

from __future__ import annotations

from .app import create_app
from .security import Guard

__all__ = ["Guard", "create_app"]
