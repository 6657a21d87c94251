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
from .layers import LayerStatus
from .policy import Overlay, Policy
from .tool_policy import tool_policy

__all__ = [
    "ExecResult", "LayerStatus", "Overlay", "Policy", "SandboxError", "SandboxUnavailable",
    "Usage", "check_layers", "execute", "overlay_mode", "tool_policy",
]
