"""The isolation layer that runs untrusted tools (see docs/sandbox.md)."""

from .launcher import (
    ExecResult,
    SandboxError,
    SandboxUnavailable,
    Usage,
    check_layers,
    execute,
    overlay_mode,
)
from .journal import ConcurrentChangeError, UndoConflictError
from .layers import LayerStatus
from .plan import Change, Plan
from .policy import Overlay, Policy
from .runs import RunError, RunResult
from .tool_policy import tool_policy

__all__ = [
    "Change", "ConcurrentChangeError", "ExecResult", "LayerStatus", "Overlay", "Plan", "Policy",
    "RunError", "RunResult", "SandboxError", "SandboxUnavailable", "UndoConflictError", "Usage",
    "check_layers", "execute", "overlay_mode", "tool_policy",
]
