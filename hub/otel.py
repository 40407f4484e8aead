"""The switch for OpenTelemetry spans: off (`spans is None`) unless an exporter is configured.

Nothing here imports opentelemetry; `start` loads hub.otel_spans only when an exporter is asked for,
so a hub without the `otel` extra runs exactly as before and each stage pays one `None` check.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from hub.config import TracingSettings
    from hub.otel_spans import Spans

INSTALL_HINT = "pip install '.[otel]'"

spans: Spans | None = None


def missing_modules(exporter: str) -> list[str]:
    """The Python modules `exporter` needs that are not installed (none for exporter "none")."""
    if exporter == "none":
        return []
    needed = ["opentelemetry.sdk"]
    if exporter == "otlp":
        needed.append("opentelemetry.exporter.otlp.proto.http")
    return [name for name in needed if not _installed(name)]


def start(settings: TracingSettings, *, default_service: str) -> None:
    """Send spans where `settings` say; exporter "none" leaves tracing off (and a running exporter alone)."""
    if settings.exporter == "none":
        return
    from hub.otel_spans import exporter_for

    start_with(exporter_for(settings), settings.service_name or default_service)


def start_with(exporter: SpanExporter, service_name: str, *, batch: bool = True) -> None:
    """Send spans to `exporter`: batched on a background thread, or each at once with `batch=False`."""
    global spans
    from hub.otel_spans import Spans

    stop()
    spans = Spans(exporter, service_name, batch=batch)


def stop() -> None:
    """Export what is still buffered and turn tracing off."""
    global spans
    running, spans = spans, None
    if running is not None:
        running.shutdown()


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False
