"""Where hook classes come from: the built-ins and the Python entry point group `hub.hooks`.

A third-party package registers a hook with `[project.entry-points."hub.hooks"] my_hook = "pkg.mod:MyHook"`;
the class follows hub.hooks.result.Hook and is constructed as `cls(params, catalog)`.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from hub.hooks.demand import DemandHook
from hub.hooks.disposition import DispositionHook
from hub.hooks.phantom import PhantomHook
from hub.hooks.result import Hook
from hub.hooks.return_rate import ReturnRateHook
from hub.hooks.safety_stock import SafetyStockHook
from hub.hooks.triage import TriageHook

GROUP = "hub.hooks"
BUILTIN: dict[str, type] = {cls.name: cls for cls in (DemandHook, ReturnRateHook, PhantomHook, DispositionHook,
                                                       TriageHook, SafetyStockHook)}


class HookRegistryError(RuntimeError):
    pass


def available_hooks() -> dict[str, type[Hook]]:
    """Every hook class by name: built-ins, then entry points (which may not redefine a built-in name)."""
    hooks: dict[str, type] = dict(BUILTIN)
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            cls = ep.load()
        except Exception as exc:  # noqa: BLE001 - any import failure of a plug-in is reported the same way
            raise HookRegistryError(f"loading hook {ep.name!r} from entry point {ep.value!r}: {exc}") from exc
        if ep.name in BUILTIN and cls is not BUILTIN[ep.name]:
            raise HookRegistryError(f"entry point {ep.value!r} redefines the built-in hook {ep.name!r}")
        if getattr(cls, "name", None) != ep.name:
            raise HookRegistryError(f"entry point {ep.name!r} loads {ep.value!r}, whose name is "
                                    f"{getattr(cls, 'name', None)!r}; they must agree")
        hooks[ep.name] = cls
    return hooks
