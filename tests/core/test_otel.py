"""OpenTelemetry spans: ingest, pipeline and each delivery are children of the event's traceparent."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest
from aiohttp import web

from hub import otel
from hub.config import ConfigError, parse_config
from hub.testing import start_loopback_app

GIVEN = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID, PARENT_ID = int(GIVEN.split("-")[1], 16), int(GIVEN.split("-")[2], 16)

needs_otel = pytest.mark.skipif(bool(otel.missing_modules("otlp")),
                                reason="the otel extra is not installed (pip install '.[otel]')")


async def _serve(routes: dict[str, int], seen: list[tuple[str, str]]) -> tuple[web.AppRunner, str]:
    """A loopback HTTP server answering each POST path with its status and noting (path, traceparent)."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        seen.append((request.path, request.headers.get("traceparent", "")))
        return web.Response(status=routes[request.path])

    app = web.Application()
    for path in routes:
        app.router.add_post(path, handler)
    return await start_loopback_app(app)


async def _wait(condition, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@needs_otel
async def test_each_stage_is_a_child_of_the_events_traceparent(tmp_path, nats_url):
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    from canonical.examples import example_event
    from hub import bus
    from hub.ingest import IngestContext
    from hub.metrics import Metrics
    from hub.runtime import Hub

    seen: list[tuple[str, str]] = []
    runner, base = await _serve({"/ok": 201, "/refuses": 400}, seen)
    config = parse_config({
        "connectors": {
            "web": {"type": "http.post", "url": f"{base}/ok"},
            "strict": {"type": "http.post", "url": f"{base}/refuses"},
        },
        "routes": [{"name": "all", "match": "*", "targets": ["web", "strict"]}],
        "status": {"enabled": False},
    }, tmp_path / "hub.toml")
    exporter = InMemorySpanExporter()
    otel.start_with(exporter, "hub-under-test", batch=False)
    hub = Hub(config, data_dir=tmp_path / "data", nats_url=nats_url)
    await hub.start()
    try:
        state = bus.KvState(await hub.bus.kv(bus.KV_STATE), "connector.shop")
        shop = IngestContext("shop", hub.bus, state, partitions=config.hub.partitions, base_dir=tmp_path,
                             data_dir=tmp_path, metrics=Metrics())
        event = example_event("stock.adjusted").model_copy(update={"trace": GIVEN})
        result = await shop.ingest([event])
        assert result.stored == 1, result.errors
        await _wait(lambda: sum(s.name == "deliver" for s in exporter.get_finished_spans()) == 2, "two deliver spans")
    finally:
        await hub.stop()
        await runner.cleanup()
        otel.stop()

    spans = {(s.name, s.attributes.get("hub.target")): s for s in exporter.get_finished_spans()}
    assert set(spans) == {("ingest", None), ("pipeline", None), ("deliver", "web"), ("deliver", "strict")}
    for span in spans.values():
        assert span.context.trace_id == TRACE_ID, span.name
        assert span.parent is not None and span.parent.span_id == PARENT_ID and span.parent.is_remote, span.name
        assert span.attributes["hub.event.id"] == event.id
        assert span.resource.attributes["service.name"] == "hub-under-test"
    ingest, pipeline = spans["ingest", None], spans["pipeline", None]
    ok, refused = spans["deliver", "web"], spans["deliver", "strict"]
    assert ingest.attributes["hub.connector"] == "shop"
    assert dict(pipeline.attributes) == {"hub.event.id": event.id, "hub.event.type": "stock.adjusted",
                                         "hub.event.subject": event.subject, "hub.connector": "shop",
                                         "hub.routes": 1, "hub.outputs": 2}
    assert ingest.start_time <= pipeline.start_time and pipeline.start_time <= ok.start_time
    assert (ok.attributes["hub.attempt"], ok.attributes["hub.outcome"]) == (1, "delivered")
    assert ok.status.status_code == StatusCode.UNSET
    assert refused.attributes["hub.outcome"] == "dead_lettered"
    assert refused.status.status_code == StatusCode.ERROR and "permanent" in refused.status.description
    # The targets themselves still see the event's own traceparent.
    assert sorted(seen) == [("/ok", GIVEN), ("/refuses", GIVEN)]


@needs_otel
async def test_the_otlp_exporter_sends_spans_to_the_configured_endpoint():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    received: list[ExportTraceServiceRequest] = []

    async def collector(request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        received.append(message)
        return web.Response(status=200, content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", collector)
    runner, base = await start_loopback_app(app)
    config = parse_config({"hub": {"name": "north"}, "tracing": {
        "exporter": "otlp", "endpoint": f"{base}/v1/traces"}})
    try:
        otel.start(config.tracing, default_service=config.hub.name)
        assert otel.spans is not None
        otel.spans.record("pipeline", GIVEN, time.time_ns(), {"hub.event.id": "e-1"})
        # Shutting down flushes on this thread and waits for the collector, served by this event loop.
        await asyncio.to_thread(otel.stop)
    finally:
        await runner.cleanup()
    assert otel.spans is None
    [resource_spans] = [r for message in received for r in message.resource_spans]
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
    [span] = [s for scope in resource_spans.scope_spans for s in scope.spans]
    assert (service, span.name) == ("north", "pipeline")
    assert span.trace_id.hex() == GIVEN.split("-")[1] and span.parent_span_id.hex() == GIVEN.split("-")[2]


def test_no_exporter_means_no_opentelemetry_import():
    code = ("import sys; from hub.config import parse_config; import hub.runtime, hub.ingest; "
            "config = parse_config({'tracing': {'exporter': 'none'}}); "
            "from hub import otel; otel.start(config.tracing, default_service='hub'); "
            "assert otel.spans is None; "
            "assert not [m for m in sys.modules if m.startswith('opentelemetry')], 'opentelemetry imported'")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


def test_an_exporter_without_the_extra_names_the_key_and_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk", None)  # as if the extra were not installed
    with pytest.raises(ConfigError) as caught:
        parse_config({"tracing": {"exporter": "console"}})
    assert "tracing.exporter" in str(caught.value) and "pip install '.[otel]'" in str(caught.value)


@pytest.mark.parametrize(("tracing", "expected"), [
    ({"exporter": "jaeger"}, "tracing.exporter: Input should be 'none', 'console' or 'otlp'"),
    ({"exporter": "console", "endpoint": "http://127.0.0.1:4318"}, "tracing.endpoint: Value error, only the"),
    ({"exporter": "otlp", "endpoint": "127.0.0.1:4318"}, "tracing.endpoint: Value error, expected an http://"),
    ({"exporter": "otlp", "sampler": "always"}, "tracing.sampler: Extra inputs are not permitted"),
])
def test_a_bad_tracing_table_is_refused_with_the_key(tracing, expected):
    with pytest.raises(ConfigError, match="^config: " + expected.replace("(", r"\(").replace(".", r"\.")):
        parse_config({"tracing": tracing})
