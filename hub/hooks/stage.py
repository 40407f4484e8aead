"""The governed hook stage: runs the configured hooks on each event, isolates their failures, applies the
policy, and returns the enriched event, the actions and the AUDIT records.

State lives in memory while the stage runs and is snapshotted to the hub_state bucket (`start` restores,
`snapshot` and `stop` save), in shards keyed `hooks.<hook>.s<NN>` with a manifest `hooks.<hook>.manifest`
naming the model version and config hash it belongs to.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from canonical import Envelope
from hub.hooks import HookOutput
from hub.hooks.actions import auto_deliveries, review_task
from hub.hooks.audit import decision_record, result_record
from hub.hooks.policy import Policy
from hub.hooks.result import ACTIONS, REASONS, Hook, HookResult
from hub.hooks.state import KeyedState
from routes import Delivery, Derived

log = logging.getLogger("hub.hooks")


@dataclass(slots=True, eq=False)
class _Slot:
    """One configured hook with everything the stage looks up for it on every event, resolved once."""

    hook: Hook
    score: Callable[[Envelope, Any], HookResult | None]
    state: KeyedState
    results_key: str
    overruns: int = 0  # consecutive overruns of the budget; the hook is bypassed at trip_after


class GovernedHookStage:
    """What `build_hook_stage` returns when hooks are configured."""

    def __init__(self, hooks: list[Hook], policy: Policy, *, action_roles: dict[str, str] | None = None,
                 budget_ms: float = 20.0, trip_after: int = 5, metrics: Any = None) -> None:
        """`metrics` (optional, e.g. hub.metrics.Metrics) receives the rare counts as Prometheus counters:
        hub_hook_errors_total, hub_hook_timeouts_total, hub_hook_bypassed_total, hub_hook_decisions_total
        and hub_hook_state_discarded_total, labelled by hook (and decision). `self.metrics` counts everything,
        per hook results included."""
        self.hooks = hooks
        self.policy = policy
        self.action_roles = action_roles or {}
        self.budget_s = budget_ms / 1000.0
        self.trip_after = trip_after
        self.states: dict[str, KeyedState] = {h.name: h.new_state() for h in hooks}
        self.metrics: Counter[str] = Counter()
        self._sink = metrics
        self._store: Any = None
        self._by_type: dict[str, list[_Slot]] = {}
        for hook in hooks:
            bind = getattr(hook, "bind", None)
            if bind is not None:
                bind({h.name: h for h in hooks}, self.states)
            slot = _Slot(hook, hook.score, self.states[hook.name], f"hook_results.{hook.name}")
            for event_type in hook.event_types:
                self._by_type.setdefault(event_type, []).append(slot)

    async def start(self, state: Any) -> None:
        """Restore each hook's snapshot from `state` (a StateStore); a snapshot of another model or config
        is not restored, since its numbers mean something else, and the hook starts fresh."""
        self._store = state
        for hook in self.hooks:
            manifest = await state.get(f"hooks.{hook.name}.manifest")
            if manifest is None:
                continue
            if (manifest.get("model_version"), manifest.get("config_hash")) != (hook.model_version, hook.config_hash):
                log.warning("hook %s: snapshot is of %s/%s, now %s/%s; starting with empty state", hook.name,
                            manifest.get("model_version"), manifest.get("config_hash"), hook.model_version,
                            hook.config_hash)
                self._rare("hook_state_discarded", hook.name)
                continue
            target = self.states[hook.name]
            for shard in manifest.get("shards", []):
                payload = await state.get(f"hooks.{hook.name}.s{shard:02d}")
                if payload is None:
                    raise RuntimeError(f"restoring hook {hook.name}: shard {shard} named in its manifest is missing")
                try:
                    target.load_shard(shard, payload)
                except ValueError as exc:
                    raise RuntimeError(f"restoring hook {hook.name}: {exc}") from exc

    async def snapshot(self) -> None:
        """Save the shards that changed since the last snapshot, then the manifest that names them.

        Several workers share the bucket, each owning other item-locations (their EVENTS partitions), so a
        shard is merged, not replaced: the keys this process has scored overwrite theirs, the others stay.
        Two workers writing one shard at the same instant can lose one side's keys until that shard is next
        saved; the bucket offers no multi-key transaction to prevent it.
        """
        if self._store is None:
            return
        for hook in self.hooks:
            st = self.states[hook.name]
            dirty = st.take_dirty_shards()
            if not dirty:
                continue
            manifest = await self._store.get(f"hooks.{hook.name}.manifest")
            ours = manifest is not None and (manifest.get("model_version"), manifest.get("config_hash")) == (
                hook.model_version, hook.config_hash)
            entries = st.live_entries(dirty)
            for shard in sorted(dirty):
                name = f"hooks.{hook.name}.s{shard:02d}"
                merged = (await self._store.get(name) or {}) if ours else {}
                merged.update(entries.get(shard, {}))
                await self._store.put(name, dict(sorted(merged.items())))
            shards = sorted(set(manifest.get("shards", []) if ours else []) | dirty)
            await self._store.put(f"hooks.{hook.name}.manifest", {
                "model_version": hook.model_version, "config_hash": hook.config_hash, "shards": shards})

    async def stop(self) -> None:
        await self.snapshot()

    def process(self, event: Envelope) -> HookOutput:
        slots = self._by_type.get(event.type)
        if not slots:
            return HookOutput(event)
        enrichments: dict[str, Any] = {}
        extra: list[Delivery | Derived] = []
        audit: list[dict[str, Any]] = []
        for slot in slots:
            result = self._run(slot, event)
            if result is None:
                continue
            name = slot.hook.name
            enrichments[name] = result.compact()
            decision, rule = self.policy.decide(result)
            audit.append(result_record(event, result, decision, self.policy.version, rule))
            if decision != "none":
                outputs = self._act(event, result, decision, rule)
                extra.extend(outputs)
                audit.append(decision_record(event, result, decision, self.policy.version, rule,
                                             [_describe_output(o) for o in outputs]))
                self._rare("hook_decisions", name, decision)
        if enrichments:
            event = event.model_copy(update={"enrichments": {**event.enrichments, **enrichments}})
        return HookOutput(event, extra, audit)

    def _run(self, slot: _Slot, event: Envelope) -> HookResult | None:
        """Score with isolation: an exception, an overrun or an off-list reason becomes an error result
        and the event goes on; a hook that keeps overrunning is bypassed until the stage restarts."""
        hook = slot.hook
        if slot.overruns >= self.trip_after:
            self._rare("hook_bypassed", hook.name)
            return self._error(hook, event, "hook_timeout",
                               f"bypassed after {self.trip_after} consecutive overruns of {self.budget_s * 1000:g} ms")
        started = perf_counter()
        try:
            result = slot.score(event, slot.state)
        except Exception as exc:  # noqa: BLE001 - isolation: any failure of a hook is contained
            self._rare("hook_errors", hook.name)
            log.warning("hook %s failed on event %s: %s", hook.name, event.id,
                        "".join(traceback.format_exception_only(exc)).strip())
            return self._error(hook, event, "hook_error", f"{type(exc).__name__}: {exc}")
        elapsed = perf_counter() - started
        # The budget uses the clock, so only a hook's *failure* can depend on timing, never its scores.
        if elapsed > self.budget_s:
            slot.overruns += 1
            self._rare("hook_timeouts", hook.name)
            return self._error(hook, event, "hook_timeout", f"took {elapsed * 1000:.1f} ms, budget "
                                                             f"{self.budget_s * 1000:g} ms")
        slot.overruns = 0
        if result is None:
            return None
        # The set test runs on every result; the list naming the culprits is built only for the rare bad one.
        if result.action not in ACTIONS or not REASONS.issuperset(result.reasons):
            bad = [r for r in result.reasons if r not in REASONS]
            self._rare("hook_errors", hook.name)
            return self._error(hook, event, "hook_error", f"off-list reasons {bad} or action {result.action!r}")
        self.metrics[slot.results_key] += 1
        return result

    def _rare(self, name: str, hook: str, decision: str | None = None) -> None:
        self.metrics[f"{name}.{decision or hook}"] += 1
        if self._sink is not None:
            labels = {"hook": hook} if decision is None else {"hook": hook, "decision": decision}
            self._sink.inc(f"hub_{name}_total", **labels)

    def _error(self, hook: Hook, event: Envelope, reason: str, message: str) -> HookResult:
        return HookResult(hook.name, hook.model_version, hook.config_hash, event.subject, 0.0, (reason,),
                          {reason: {"message": message}}, "none", 0.0, error=message)

    def _act(self, event: Envelope, result: HookResult, decision: str, rule: str) -> list[Delivery | Derived]:
        if decision == "auto":
            return list(auto_deliveries(event, result, self.action_roles))
        if decision == "review":
            return [review_task(event, result, self.policy.version, rule)]
        return []


def _describe_output(output: Delivery | Derived) -> dict[str, Any]:
    described: dict[str, Any] = {"event_id": output.event.id, "event_type": output.event.type,
                                 "route": output.route}
    if isinstance(output, Delivery):
        described["role"] = output.role
        described["target"] = output.target
    else:
        described["derived"] = True
    return described
