"""Secrets given by reference in the hub's own config (NATS credentials, status token)."""

from __future__ import annotations

from hub.sdk import SecretRef


def reveal(value: str | None) -> str | None:
    return SecretRef(value).reveal() if value else None
