"""The whole benchmark suite: every figure next to its baseline from the same run, and the aims they meet.

Throughput runs are interleaved (baseline, hub, baseline, hub, ...) so a noisy neighbour hits both, and
each ratio is the median of the per-round ratios; latency is the median of as many trials.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import edi_bench, faststream_two_hop, hooks_bench, hub_pipeline, raw_two_hop, scale_out


@dataclass(frozen=True)
class Sizes:
    rounds: int
    two_hop_events: int
    faststream_events: int
    latency_seconds: float
    scale_events: int  # 0 skips the scale-out runs
    edi_quick: bool


QUICK = Sizes(rounds=1, two_hop_events=8_000, faststream_events=1_000, latency_seconds=3.0, scale_events=0,
              edi_quick=True)
FULL = Sizes(rounds=3, two_hop_events=30_000, faststream_events=4_000, latency_seconds=10.0, scale_events=30_000,
             edi_quick=False)

LATENCY_RATE = 2_000.0
# The interpreter's own collector settings, taken before any hub section tunes them as a started worker does.
_COLLECTOR = gc.get_threshold()

# key -> (comparison, aim), as the issue states them.
AIMS: dict[str, tuple[str, float]] = {
    "pipeline_vs_raw": (">=", 0.8),
    "pipeline_vs_faststream": (">=", 4.0),
    "p99_ms": ("<=", 25.0),
    "x12_vs_pyx12": (">=", 3.0),
    "edifact_vs_pydifact": (">=", 5.0),
    "hook_events_per_s": (">=", 100_000.0),
    "rss_mb_100k_keys": ("<=", 200.0),
}


def run(quick: bool, progress: Callable[[str], None] = print,
        sizes: Sizes | None = None) -> tuple[dict[str, float], dict[str, str]]:
    """All sections; returns the figures and, per section that failed, why."""
    sizes = sizes or (QUICK if quick else FULL)
    results: dict[str, float] = {}
    failures: dict[str, str] = {}
    sections: list[tuple[str, Callable[[], dict[str, float]]]] = [
        ("two hops: hub vs raw nats-py and FastStream", lambda: asyncio.run(_two_hops(sizes, progress))),
        ("latency at 2,000 events/s", lambda: asyncio.run(_latency(sizes, progress))),
        ("EDI readers", lambda: edi_bench.run(quick=sizes.edi_quick)),
        ("AI hooks", lambda: hooks_bench.run(quick=quick)),
    ]
    if sizes.scale_events:
        sections.append(("scale out: 1 and 2 workers", lambda: asyncio.run(scale_out.run(sizes.scale_events))))
    for name, section in sections:
        progress(f"running {name} ...")
        interpreter_collector()
        try:
            results.update(section())
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others' figures
            failures[name] = f"{type(exc).__name__}: {exc}"
            progress(traceback.format_exc())
    return results, failures


def interpreter_collector() -> None:
    """Back to the interpreter's own collector settings. The hub runs tune the collector as a started worker
    does (`settle_heap`); every baseline and every section starts from the interpreter's own settings, so a
    program measured after the hub does not inherit the hub's."""
    gc.unfreeze()
    gc.set_threshold(*_COLLECTOR)
    gc.collect()


async def _two_hops(sizes: Sizes, progress: Callable[[str], None]) -> dict[str, float]:
    """Rounds of raw, FastStream, hub, hub without hooks; medians of each figure, and of the per-round ratios
    (the machine's other load moves from round to round, so each ratio is taken within one round)."""
    rounds: list[dict[str, float]] = []
    for n in range(sizes.rounds):
        interpreter_collector()
        figures = await raw_two_hop.run(sizes.two_hop_events)
        interpreter_collector()
        figures |= await _faststream(sizes.faststream_events, progress)
        figures |= await hub_pipeline.throughput(sizes.two_hop_events)
        bare = await hub_pipeline.throughput(sizes.two_hop_events, hooks=False)
        figures["pipeline_no_hooks_events_per_s"] = bare["pipeline_events_per_s"]
        figures["pipeline_no_hooks_cpu_us_per_event"] = bare["pipeline_cpu_us_per_event"]
        figures["pipeline_vs_raw"] = figures["pipeline_events_per_s"] / figures["raw_two_hop_events_per_s"]
        faststream = figures.get("faststream_per_message_events_per_s")
        if faststream:
            figures["pipeline_vs_faststream"] = figures["pipeline_events_per_s"] / faststream
        rounds.append(figures)
        progress(f"  round {n + 1}: raw {figures['raw_two_hop_events_per_s']:,.0f}/s, "
                 f"FastStream {faststream or 0:,.0f}/s, hub {figures['pipeline_events_per_s']:,.0f}/s, "
                 f"hub without hooks {figures['pipeline_no_hooks_events_per_s']:,.0f}/s")
    keys = dict.fromkeys(key for r in rounds for key in r)  # a round whose FastStream run failed lacks its keys
    return {key: statistics.median(r[key] for r in rounds if key in r) for key in keys}


async def _faststream(events: int, progress: Callable[[str], None]) -> dict[str, float]:
    """One FastStream run; a failure leaves this round without its figures rather than losing the others'."""
    try:
        return await faststream_two_hop.run(events)
    except Exception:  # noqa: BLE001 - reported; the round's raw and hub figures still count
        progress(traceback.format_exc())
        return {}


async def _latency(sizes: Sizes, progress: Callable[[str], None]) -> dict[str, float]:
    """Trials at the fixed offered load; the median of each figure over the trials."""
    trials = []
    for n in range(sizes.rounds):
        trial = await hub_pipeline.latency(LATENCY_RATE, sizes.latency_seconds)
        trials.append(trial)
        progress(f"  trial {n + 1}: p50 {trial['p50_ms']:.1f} ms, p99 {trial['p99_ms']:.1f} ms at "
                 f"{trial['latency_offered_events_per_s']:,.0f} events/s offered")
    return {key: statistics.median(t[key] for t in trials) for key in trials[0]}


def table(results: dict[str, Any], failures: dict[str, str]) -> str:
    """The figures as a table: value, aim and whether it is met; then any section that failed."""
    keys = list(results) + [k for k in AIMS if k not in results]
    width = max(len(k) for k in keys)
    lines = [f"{'figure'.ljust(width)}  {'value':>14}  aim"]
    for key in keys:
        value = results.get(key)
        aim = AIMS.get(key)
        shown = "not measured" if value is None else _format(key, value)
        verdict = ""
        if aim:
            op, target = aim
            met = value is not None and (value >= target if op == ">=" else value <= target)
            verdict = f"{op} {_format(key, target)}  {'met' if met else 'NOT MET'}"
        lines.append(f"{key.ljust(width)}  {shown:>14}  {verdict}".rstrip())
    lines += [f"section failed: {name}: {why}" for name, why in failures.items()]
    return "\n".join(lines)


def _format(key: str, value: float) -> str:
    if key.endswith(("_ms", "_mb", "_vs_raw", "_vs_faststream", "_vs_pyx12", "_vs_pydifact", "_vs_1",
                     "_vs_baseline", "_per_event", "_100k_keys")):
        return f"{value:,.2f}"
    return f"{value:,.0f}"
