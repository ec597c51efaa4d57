"""Groove sales-engagement GraphQL API (seed 000): contract, emulator (connector: see the client half)."""

API_ID = "groove-sales"
PREFIX = "/groove-sales"
