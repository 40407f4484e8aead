"""Third-party hooks come in through the `hub.hooks` entry point group."""

import sys
import textwrap

import pytest

from hub.hooks import build_hook_stage
from hub.hooks.registry import HookRegistryError, available_hooks


@pytest.fixture
def plugin_dist(tmp_path, monkeypatch):
    """An installed distribution (a .dist-info with entry_points.txt) on sys.path, with its module."""

    def install(module_source: str, entry: str) -> None:
        (tmp_path / "hub_test_plugin.py").write_text(textwrap.dedent(module_source))
        info = tmp_path / "hub_test_plugin-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-test-plugin\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[hub.hooks]\n{entry}\n")
        monkeypatch.syspath_prepend(str(tmp_path))

    yield install
    sys.modules.pop("hub_test_plugin", None)


PLUGIN = """
    from hub.hooks.result import BaseHook
    from hub.hooks.state import KeyedState

    class BigReturns(BaseHook):
        name = "big_returns"
        model_version = "big-returns-0.1"
        event_types = frozenset({"return.received"})

        def new_state(self):
            return KeyedState(1)

        def score(self, event, state):
            big = event.data["quantity"] >= 10
            return self.result(event.subject, float(event.data["quantity"]),
                               ("return_rate_high",) if big else (), {}, "review" if big else "none", 1.0)
"""


def test_an_entry_point_hook_is_listed_and_runs_in_the_stage(plugin_dist):
    plugin_dist(PLUGIN, "big_returns = hub_test_plugin:BigReturns")
    assert available_hooks()["big_returns"].model_version == "big-returns-0.1"
    stage = build_hook_stage({"enabled": ["big_returns"], "policy": {"default": "review"}})
    from .factory import at, event

    out = stage.process(event("return.received", {"sku": "A", "location": "S", "return_id": "R", "quantity": 12,
                                                  "reason_code": "x"}, at(0), "r-1"))
    assert out.event.enrichments["big_returns"]["reasons"] == ["return_rate_high"]
    assert out.extra[0].event.type == "task.raised"


def test_a_broken_entry_point_is_reported_by_name(plugin_dist):
    plugin_dist("raise ImportError('needs torch')\n", "broken = hub_test_plugin:Nope")
    with pytest.raises(HookRegistryError, match="loading hook 'broken' from entry point 'hub_test_plugin:Nope'"):
        available_hooks()


def test_an_entry_point_whose_class_name_disagrees_is_refused(plugin_dist):
    plugin_dist(PLUGIN, "other_name = hub_test_plugin:BigReturns")
    with pytest.raises(HookRegistryError, match="whose name is 'big_returns'"):
        available_hooks()
