"""Lint gates for Python tools: ruff's pyflakes and bugbear rules, run on the source as a subprocess.

Generated code that compiles is still often wrong: a name that is never defined, a
mutable default, a `%` format with the wrong arguments. Ruff finds these with exact
positions in milliseconds. Findings that fail at run time are errors (the repair loop
must fix them); the rest are warnings, which go back to the model with the errors and
which `toolsmith check` shows. Every vetted recipe passes with no finding at all.
"""

import json
import subprocess

from toolsmith.core.base.diagnostics import Diagnostic
from toolsmith.core.tools.checks import diagnostic

SELECT = "F,B,E722"  # pyflakes, bugbear, and bare `except:` (bugbear's B001 lives there in ruff)
# zip() without strict= flags nearly every zip, and most are deliberate
IGNORE = "B905"
# what breaks when it runs: undefined or unbound names, broken % and .format calls,
# always-true asserts and ifs, `is` with a literal, statements outside their block
ERRORS = ("F821", "F822", "F823", "F50", "F52", "F631", "F632", "F633", "F634", "F70", "B002")


def ruff_diagnostics(source: str) -> list[Diagnostic]:
    """Ruff's findings in `source` (which compiles), as diagnostics with their ranges."""
    try:
        from ruff.__main__ import find_ruff_bin

        ruff = find_ruff_bin()
    except (ImportError, FileNotFoundError):
        return [diagnostic(source, "lint", "ruff is not installed, so the code was not linted (pip install ruff)", 1, 1, severity="warning")]
    command = [
        str(ruff), "check", "--isolated", "--no-cache", "--quiet", "--select", SELECT, "--ignore", IGNORE,
        "--output-format", "json", "--stdin-filename", "tool.py", "-",
    ]
    result = subprocess.run(command, input=source, capture_output=True, text=True, timeout=60)
    try:
        findings = json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        message = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return [diagnostic(source, "lint", f"ruff failed: {message}", 1, 1, severity="warning")]
    return [_diagnostic(source, f) for f in findings if f.get("code")]


def _diagnostic(source: str, finding: dict) -> Diagnostic:
    code = finding["code"]
    start, end = finding["location"], finding.get("end_location") or finding["location"]
    severity = "error" if code.startswith(ERRORS) else "warning"
    return diagnostic(source, code, finding["message"], start["row"], start["column"], end["row"], end["column"], severity)
