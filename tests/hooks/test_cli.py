import asyncio
import json

import nats
from click.testing import CliRunner
from nats.js import api as js_api

from hub.hooks.audit import dumps
from hub.hooks.cli import audit, hooks

CONFIG = """
[hooks]
enabled = ["demand", "phantom"]

[hooks.demand]
threshold = 4.0

[hooks.policy]
version = "2026-11-27"
default = "shadow"

[[hooks.policy.rules]]
name = "hold-constrained"
hook = "demand"
action = "hold_marketplace_exposure"
mode = "auto"
min_confidence = 0.8
"""


def test_list_shows_hooks_versions_and_the_policy(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text(CONFIG)
    result = CliRunner().invoke(hooks, ["list", "--config", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("on  demand") and "demand-1.1" in line for line in lines)
    assert any(line.startswith("off triage") for line in lines)
    assert "policy 2026-11-27 (default shadow)" in result.output
    assert "hold-constrained" in result.output and "mode=auto" in result.output
    as_json = json.loads(CliRunner().invoke(hooks, ["list", "--config", str(path), "--json"]).output)
    assert {h["hook"] for h in as_json["hooks"] if h["enabled"]} == {"demand", "phantom"}


def test_list_reports_a_bad_hooks_table(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text('[hooks]\nenabled = ["demand"]\n[hooks.demand]\nthreshold = "high"\n')
    result = CliRunner().invoke(hooks, ["list", "--config", str(path)])
    assert result.exit_code != 0 and "hooks.demand.threshold" in result.output


def test_score_prints_one_score_per_row(tmp_path):
    rows = ["timestamp,value"] + [f"2026-01-{d + 1:02d},10" for d in range(20)] + ["2026-01-21,45"]
    path = tmp_path / "series.csv"
    path.write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(hooks, ["score", "demand", str(path)])
    assert result.exit_code == 0, result.output
    out = result.output.strip().splitlines()
    assert out[0] == "timestamp,value,score,reasons" and len(out) == 22
    assert out[-1].startswith("2026-01-21T00:00:00+00:00,45,") and out[-1].endswith("demand_spike")
    assert all(line.endswith(",") for line in out[1:-1])


def test_score_names_the_bad_line(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("timestamp,value\n2026-01-01,3\n2026-01-02,lots\n")
    result = CliRunner().invoke(hooks, ["score", "demand", str(path)])
    assert result.exit_code != 0 and "line 3: value 'lots' is not a number" in result.output
    path.write_text("timestamp,value\n2026-01-02,3\n2026-01-01,4\n")
    result = CliRunner().invoke(hooks, ["score", "demand", str(path)])
    assert "line 3: 2026-01-01 does not come after line 2's 2026-01-02" in result.output


def test_eval_json_has_every_hook_with_its_metrics():
    result = CliRunner().invoke(hooks, ["eval", "--items", "24", "--days", "110", "--json", "--seed-tune", "3",
                                        "--seed-test", "4"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert set(report) == {"demand", "return_rate", "phantom", "disposition", "triage", "safety_stock"}
    for name in ("demand", "return_rate", "phantom"):
        assert {"precision", "recall", "f1", "episode_recall", "false_alarms_per_1000", "events_per_s",
                "bytes_per_key", "median_delay_days"} <= set(report[name])
        assert 0 <= report[name]["precision"] <= 1 and report[name]["events_per_s"] > 0
    assert report["triage"]["bytes_per_key"] > 0
    assert 0 < report["demand"]["oracle_f1"] <= 1


def test_eval_refuses_the_same_seed_for_tuning_and_testing():
    result = CliRunner().invoke(hooks, ["eval", "--seed-tune", "5", "--seed-test", "5"])
    assert result.exit_code != 0 and "must differ" in result.output


def test_audit_tail_and_show_against_a_real_server(nats_url):
    async def setup():
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        await js.add_stream(js_api.StreamConfig(name="AUDIT", subjects=["audit.>"], storage=js_api.StorageType.FILE))
        for i in range(5):
            record = {"kind": "hook_result", "event_id": f"e{i}", "hook": "demand", "score": float(i),
                      "reasons": [], "decision": "none", "evidence": {}}
            await js.publish("audit.hook_result", dumps(record), headers={"hub-event-id": f"e{i}"})
        decision = {"kind": "decision", "event_id": "e3", "hook": "demand", "decision": "review",
                    "policy_version": "p1", "rule": "ask", "evidence": {"demand_spike": {"observed": 40}},
                    "outputs": [{"event_id": "task-1"}]}
        await js.publish("audit.decision", dumps(decision), headers={"hub-event-id": "e3"})
        await nc.close()

    asyncio.run(setup())
    runner = CliRunner()
    tail = runner.invoke(audit, ["tail", "--last", "2", "--nats-url", nats_url])
    assert tail.exit_code == 0, tail.output
    assert len(tail.output.strip().splitlines()) == 2 and "decision=review" in tail.output
    only = runner.invoke(audit, ["tail", "--kind", "decision", "--json", "--nats-url", nats_url])
    assert [json.loads(line)["event_id"] for line in only.output.strip().splitlines()] == ["e3"]
    show = runner.invoke(audit, ["show", "e3", "--nats-url", nats_url])
    assert show.exit_code == 0 and len([ln for ln in show.output.splitlines() if ln.startswith("#")]) == 2
    assert 'demand_spike: {"observed": 40}' in show.output and "policy=p1/ask" in show.output
    missing = runner.invoke(audit, ["show", "nope", "--nats-url", nats_url])
    assert missing.exit_code == 1 and "no AUDIT records for event nope" in missing.output
