"""Retail Inventory Hub: the runtime that moves canonical inventory events between systems."""

__version__ = "0.1.0"
