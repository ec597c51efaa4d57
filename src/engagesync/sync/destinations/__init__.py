"""Destinations (seed 002): saved, versioned push configurations, previewed, tested and activated.

The modules, each small: ``model`` (the configuration, YAML), ``storage`` (tables), ``endpoint`` (a
manual configuration's requests), ``batching`` (grouping algorithms), ``plan`` (configuration ->
action + grouped sender), ``responses`` (the response source and its signed webhook), ``delivery``
(one run through the Pusher), ``preview`` (sample requests, test sends), ``manage`` (create, edit,
activate...), ``worker`` (``engagesync run``). The CLI and the console call these functions only.
"""

from __future__ import annotations

from .delivery import DeliveryResult, deliver, find
from .manage import (
    activate,
    apply_options,
    create,
    deactivate,
    delete,
    edit,
    list_all,
    parse_interval,
    runs,
    signing_secret,
)
from .model import ConfigError, DestinationConfig, from_yaml, parse, parse_headers
from .preview import preview, test_send
from .storage import DeliveryRun, Destination
from .worker import Worker

__all__ = [
    "ConfigError",
    "DeliveryResult",
    "DeliveryRun",
    "Destination",
    "DestinationConfig",
    "Worker",
    "activate",
    "apply_options",
    "create",
    "deactivate",
    "delete",
    "deliver",
    "edit",
    "find",
    "from_yaml",
    "list_all",
    "parse",
    "parse_headers",
    "parse_interval",
    "preview",
    "runs",
    "signing_secret",
    "test_send",
]
