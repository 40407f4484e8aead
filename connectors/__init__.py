"""Connectors: one folder per family of external systems."""
