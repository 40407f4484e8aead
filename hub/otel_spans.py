"""OpenTelemetry spans of the hub's stages, each a child of the span named in the event's traceparent.

Imported only when tracing is on (see hub.otel), because it needs the `otel` extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

if TYPE_CHECKING:
    from hub.config import TracingSettings

_PROPAGATOR = TraceContextTextMapPropagator()


def exporter_for(settings: TracingSettings) -> SpanExporter:
    """The exporter a `[tracing]` table names (not "none")."""
    if settings.exporter == "console":
        return ConsoleSpanExporter()
    if settings.exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Without an endpoint the exporter reads the standard OTEL_EXPORTER_OTLP_* environment.
        return OTLPSpanExporter(endpoint=settings.endpoint)
    raise ValueError(f"tracing.exporter: no exporter for {settings.exporter!r}")


class Spans:
    """Records finished spans; the hub's stages work in batches, so a span is recorded after the fact."""

    def __init__(self, exporter: SpanExporter, service_name: str, *, batch: bool = True) -> None:
        self._provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
        # Batching exports on the processor's own thread, so the event loop never waits on a collector.
        self._provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
        self._tracer = self._provider.get_tracer("hub")

    def record(self, name: str, traceparent: str | None, start_ns: int,
               attributes: Mapping[str, AttributeValue], error: str | None = None) -> None:
        """A span `name` from `start_ns` until now; an event without a valid traceparent starts a new trace."""
        parent = _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else Context()
        span = self._tracer.start_span(name, context=parent, attributes=attributes, start_time=start_ns)
        if error is not None:
            span.set_status(StatusCode.ERROR, error)
        span.end()

    def shutdown(self) -> None:
        self._provider.shutdown()
