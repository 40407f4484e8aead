"""The schema registry: versions and compatibility of canonical, partner and custom schemas, and their usage."""

from hub.schemas.compat import Change, Incompatibility, Mode, check, diff
from hub.schemas.deprecation import deprecation_task
from hub.schemas.monitor import SchemaMonitor
from hub.schemas.registry import RegistrationResult, SchemaCompatibilityError, register, register_builtin
from hub.schemas.usage import SchemaUsage, snapshot_all, status_summary, summarise
from hub.schemas.validators import PayloadValidator, validator_for

__all__ = [
    "Change",
    "Incompatibility",
    "Mode",
    "PayloadValidator",
    "RegistrationResult",
    "SchemaCompatibilityError",
    "SchemaMonitor",
    "SchemaUsage",
    "check",
    "deprecation_task",
    "diff",
    "register",
    "register_builtin",
    "snapshot_all",
    "status_summary",
    "summarise",
    "validator_for",
]
