"""The isolation layer that runs untrusted tools (see docs/sandbox.md).

Names are imported on first use (PEP 562): `toolsmith sandbox exec` needs only the
launcher, not the preview, journal and run bookkeeping.
"""

import importlib

_WHERE = {
    "Change": "plan",
    "ConcurrentChangeError": "journal",
    "ExecResult": "launcher",
    "LayerStatus": "layers",
    "Overlay": "policy",
    "Plan": "plan",
    "Policy": "policy",
    "RunError": "runs",
    "RunResult": "runs",
    "SandboxError": "launcher",
    "SandboxUnavailable": "launcher",
    "UndoConflictError": "journal",
    "Usage": "launcher",
    "check_layers": "launcher",
    "execute": "launcher",
    "overlay_mode": "launcher",
    "tool_policy": "tool_policy",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value
