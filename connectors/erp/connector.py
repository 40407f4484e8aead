"""The `erp.soap` connector: polls an ERP's SOAP operations into canonical events and posts events to it.

As a source it polls each inbound operation from a cursor kept in the hub's state bucket and skips
the records the hub posted itself (`skip_own`); as a sink (role erp) it posts each event once, with
the event's idempotency key as the ERP's external reference, and counts a "duplicate document"
answer as success.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson

from canonical import ContractError, Envelope
from connectors.erp.config import ErpSoapConfig, InboundOperation, OutboundOperation
from connectors.erp.mapping import (
    inbound_event,
    next_cursor,
    outbound_request,
    plain,
    poll_request,
    posted_by_hub,
    records_at,
    select_outbound,
    write_outcome,
)
from connectors.erp.transport import ErpFault, SoapTransport
from hub.errors import PermanentError, TransientError
from hub.sdk import ConnectorContext, Sink


class ErpSoap(Sink):
    """An ERP over SOAP, driven by its WSDL and a mapping: polls inbound, posts outbound."""

    type_name = "erp.soap"
    config_model = ErpSoapConfig
    direction = "both"
    summary = "ERP over SOAP (WSDL + mapping): polls goods movements, stock and POs; posts adjustments, orders and planning changes."

    config: ErpSoapConfig

    def __init__(self, name: str, config: ErpSoapConfig, ctx: ConnectorContext) -> None:
        super().__init__(name, config, ctx)
        self.transport = SoapTransport(config, ctx.base_dir)
        self.source_uri = f"urn:hub:erp:{name}"
        self._task: asyncio.Task[None] | None = None
        self._last_failure: dict[str, str] = {}

    async def start(self) -> None:
        try:
            await self.transport.open()
        except (ValueError, OSError) as exc:
            raise ValueError(f"starting ERP connector {self.name}: {exc}") from exc
        try:
            self._check_operations()
        except ValueError:
            await self.transport.close()
            raise
        if self.config.poll and self.config.mapping.inbound:
            self._task = asyncio.create_task(self._poll_loop(), name=f"erp-poll-{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.transport.close()

    async def check(self) -> str:
        inbound = self.config.mapping.inbound
        if inbound:
            op = inbound[0]
            await self.transport.call_once(op.operation, poll_request(op.model_copy(update={"page_size": 1}),
                                                                      op.cursor.start))
        return f"{self.transport.endpoint}: {len(self.transport.operations)} operations in the WSDL port"

    # sink

    def accepts(self, event_type: str) -> bool:
        return any(op.event_type == event_type for op in self.config.mapping.outbound)

    async def deliver(self, event: Envelope, attempt: int) -> None:
        op = select_outbound(self.config.mapping.outbound, event)
        if op is None:
            raise ContractError(f"{self.name}: no outbound operation maps this {event.type} event {event.id} "
                                f"(the when conditions of its operations do not hold: {_conditions(self.config, event)})",
                                "mapping.outbound")
        request = outbound_request(op, event)
        log = {"event_id": event.id, "correlation_id": event.correlation_id, "operation": op.operation}
        try:
            answer = await self.transport.call(op.operation, request)
        except ErpFault as fault:
            if fault.code not in self.config.mapping.errors.duplicate_codes:
                self.ctx.count("erp_faults", code=fault.code, operation=op.operation)
                raise
            self._posted_before(op, fault.document, log)
            return
        self._read_write_outcome(op, answer, log)

    def _read_write_outcome(self, op: OutboundOperation, answer: dict[str, Any], log: dict[str, Any]) -> None:
        outcome = write_outcome(op, answer)
        errors = self.config.mapping.errors
        if outcome.error_code is None:
            self.ctx.count("erp_posted", operation=op.operation)
            self.ctx.log.info("posted to ERP as document %s", outcome.document, extra={**log})
        elif outcome.error_code in errors.duplicate_codes:
            self._posted_before(op, outcome.document, log)
        elif outcome.error_code in errors.transient_codes:
            raise TransientError(f"ERP answered {op.operation} with {outcome.error_code}: {outcome.error_text}")
        else:
            self.ctx.count("erp_faults", code=outcome.error_code, operation=op.operation)
            raise ErpFault(op.operation, outcome.error_code, outcome.error_text)

    def _posted_before(self, op: OutboundOperation, document: str | None, log: dict[str, Any]) -> None:
        self.ctx.count("erp_duplicates", operation=op.operation)
        self.ctx.log.info("ERP already holds this posting as document %s", document or "(not named)",
                          extra={**log})

    # source

    async def poll_once(self) -> int:
        """Poll every inbound operation until caught up; returns the number of events stored."""
        stored = 0
        for op in self.config.mapping.inbound:
            stored += await self.poll_operation(op)
        return stored

    async def poll_operation(self, op: InboundOperation) -> int:
        """Poll one operation page by page from its cursor; the cursor moves only after events are stored."""
        stored = 0
        state_key = f"erp.{self.name}.cursor.{op.name}"
        cursor = await self.ctx.state.get(state_key)
        cursor = op.cursor.start if cursor is None else cursor
        while True:
            answer = await self.transport.call(op.operation, poll_request(op, cursor))
            records = records_at(answer, op.records)
            if not records:
                return stored
            stored += await self._ingest(op, records)
            cursor = next_cursor(op, records, cursor)
            await self.ctx.state.put(state_key, cursor)
            if len(records) < op.page_size:
                return stored

    async def _ingest(self, op: InboundOperation, records: list[dict[str, Any]]) -> int:
        events = []
        origin = f"{self.name}/{op.operation}"
        skipped = 0
        for index, record in enumerate(records):
            if op.skip_own and posted_by_hub(op.skip_own, record, self.config.auth.username):
                skipped += 1  # the hub holds this fact as the event it posted; ingesting it again would loop
                continue
            try:
                events.append(inbound_event(op, record, instance=self.name, source=self.source_uri))
            except ContractError as exc:
                await self.ctx.dead_letter(raw=_json(record), error_class="contract", origin=origin,
                                           reason=f"{op.records}[{index}]: {exc}")
        if skipped:
            self.ctx.count("erp_own_postings_skipped", skipped, operation=op.operation)
        if not events:
            return 0
        result = await self.ctx.ingest(events, raw=_json(records), origin=origin)
        self.ctx.count("erp_polled_events", result.stored, operation=op.operation)
        return result.stored

    async def _poll_loop(self) -> None:
        while True:
            for op in self.config.mapping.inbound:
                await self._poll_guarded(op)
            await asyncio.sleep(self.config.poll_interval)

    async def _poll_guarded(self, op: InboundOperation) -> None:
        """One poll; a failure is logged (and an unreadable answer dead-lettered once) and the loop goes on."""
        try:
            await self.poll_operation(op)
        except TransientError as exc:
            self.ctx.count("erp_poll_errors", error_class="transient", operation=op.operation)
            self.ctx.log.warning("polling %s failed, will retry: %s", op.name, exc)
        except (PermanentError, ContractError) as exc:
            self.ctx.count("erp_poll_errors", error_class="permanent", operation=op.operation)
            self.ctx.log.error("polling %s failed: %s", op.name, exc)
            if self._last_failure.get(op.name) != str(exc):
                await self.ctx.dead_letter(raw=getattr(exc, "raw", b""), reason=str(exc),
                                           error_class=getattr(exc, "error_class", "permanent"),
                                           origin=f"{self.name}/{op.operation}")
            self._last_failure[op.name] = str(exc)
        else:
            self._last_failure.pop(op.name, None)

    def _check_operations(self) -> None:
        available = self.transport.operations
        wanted = [op.operation for op in (*self.config.mapping.inbound, *self.config.mapping.outbound)]
        missing = sorted({name for name in wanted if name not in available})
        if missing:
            raise ValueError(f"ERP connector {self.name}: mapping names operations {missing} that the WSDL "
                             f"port does not have (it has {sorted(available)})")


def _conditions(config: ErpSoapConfig, event: Envelope) -> str:
    """The when conditions of the operations for this event's type, for the error that none held."""
    ops = [op for op in config.mapping.outbound if op.event_type == event.type]
    return "; ".join(" and ".join(f"{path} in {allowed}" for path, allowed in op.when.items()) or "none"
                     for op in ops)


def _json(value: Any) -> bytes:
    return orjson.dumps(plain(value))


__all__ = ["ErpSoap"]
