"""Where the emulator's OpenAPI document lives; the sandbox engine loads and serves it (sandbox/openapi.py)."""

from pathlib import Path

SPEC = Path(__file__).with_name("openapi.yaml")
