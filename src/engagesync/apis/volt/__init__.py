"""Volt (formerly Respond Flow) SMS GraphQL API (seed 004): contract and emulator."""

API_ID = "volt"
PREFIX = "/volt"
