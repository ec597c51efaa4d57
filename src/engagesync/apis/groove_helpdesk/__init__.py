"""Groove helpdesk REST API v1 (seeds 001 and 002): contract, emulator and connector."""

API_ID = "groove-helpdesk"
PREFIX = "/groove-helpdesk/v1"
