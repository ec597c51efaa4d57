"""Webhook sources: receive, verify, deduplicate and store the APIs' (and destinations') events.

Modules: ``verify`` (signature schemes), ``endpoints`` (who may post, 0600 file), ``storage`` (events
tables and the dedupe record in the store), ``receiver`` (the ASGI app), ``registration`` (creating the
API's webhooks through the connector), ``server`` (uvicorn with graceful SIGTERM).
"""
