"""The errors every frontend shows as one line (exit code 1, HTTP 400, an LSP message).

Toolsmith's own (ToolsmithError) and the sandbox's: the sandbox is self-contained,
so its errors have their own base, SandboxError.
"""

from toolsmith.sandbox.errors import SandboxError

from ..base.errors import ToolsmithError

USER_ERRORS = (ToolsmithError, SandboxError)
