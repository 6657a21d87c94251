"""The isolation layer that runs untrusted tools (see docs/sandbox.md).

Names are imported on first use (PEP 562): `toolsmith sandbox exec` needs only the
launcher, not the preview, journal and run bookkeeping.
"""

from ..core.lazy import lazy_attributes

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
__getattr__ = lazy_attributes(__name__, _WHERE)
