"""The client engine: transport, auth, rate budget, retries, paginators, typed errors (no API knowledge)."""
