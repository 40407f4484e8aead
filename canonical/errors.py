"""Errors raised when a payload does not fit the canonical model."""


class EventError(ValueError):
    """An event that cannot be accepted: bad JSON or a field that fails validation.

    `where` names the field (a dotted path) or the byte position that was wrong.
    """

    error_class = "permanent"

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.reason = message


class ContractError(EventError):
    """An event of an unknown type or version, or one a target cannot be served."""

    error_class = "contract"
