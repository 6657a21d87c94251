"""The error every sandbox failure derives from.

The sandbox is self-contained (it imports nothing of ``toolsmith.core``), so it has
its own base; frontends show a SandboxError as one line, like a ToolsmithError.
"""


class SandboxError(Exception):
    pass
