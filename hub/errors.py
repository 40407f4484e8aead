"""The three ways a delivery or translation can fail, which decide retry or dead letter."""

from __future__ import annotations

from canonical.errors import ContractError, EventError

ERROR_CLASSES = ("transient", "permanent", "contract")


class HubError(Exception):
    error_class = "permanent"


class TransientError(HubError):
    """Worth retrying: the peer was down, slow, rate-limited or answered 5xx.

    `retry_after` (seconds) is honoured when the peer said how long to wait.
    """

    error_class = "transient"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(HubError):
    """Retrying will not help: the peer refused the message (a business fault, a 4xx)."""

    error_class = "permanent"


class ConnectionLost(TransientError):
    """The connection to the external system is gone; the engine reconnects, the component does not loop."""


def classify(exc: BaseException) -> str:
    """The DLQ error class of an exception: transient, permanent or contract."""
    if isinstance(exc, ContractError):
        return "contract"
    if isinstance(exc, HubError | EventError):
        return exc.error_class
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return "transient"
    return "permanent"


__all__ = ["ConnectionLost", "ContractError", "ERROR_CLASSES", "HubError", "PermanentError", "TransientError", "classify"]
