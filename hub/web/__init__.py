"""The HTTP face of `hub up`: the status page, /metrics, health and readiness, and the AsyncAPI document."""

from hub.web.server import StatusServer, StatusServerError

__all__ = ["StatusServer", "StatusServerError"]
