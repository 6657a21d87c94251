"""The smoke run: a freshly made tool must at least answer `--help` inside the sandbox."""

import tempfile
from pathlib import Path

from ..base.config import SandboxConfig
from ..base.manifest import Manifest
from ..tools.languages import get_language
from .events import SmokeRun

SMOKE_TIMEOUT = 20.0
OUTPUT_TAIL = 2000


def smoke_run(manifest: Manifest, source: str, settings: SandboxConfig) -> SmokeRun:
    """Run `tool --help` with no access to the user's files; ok when it exits 0 and prints usage."""
    from toolsmith.sandbox.launcher import execute
    from toolsmith.sandbox.policy import Policy

    language = get_language(manifest.language)
    with tempfile.TemporaryDirectory(prefix="toolsmith-smoke-") as folder:
        path = Path(folder) / language.source_file
        path.write_text(source, encoding="utf-8")
        path.parent.chmod(0o755)
        path.chmod(0o644)
        command = [*language.command(path), "--help"]
        policy = Policy(
            read_paths=[folder],
            timeout=SMOKE_TIMEOUT,
            memory_mb=settings.memory_mb,
            allow_degraded=settings.allow_degraded,
        )
        result = execute(command, policy)
    output = (result.stdout + result.stderr).decode("utf-8", "replace")[-OUTPUT_TAIL:]
    ok = result.exit_code == 0 and "usage" in output.lower()
    if result.timed_out:
        output += f"\n(timed out after {SMOKE_TIMEOUT:.0f} s: `--help` must return at once)"
    return SmokeRun(command=[Path(c).name if c == str(path) else c for c in command], exit_code=result.exit_code, ok=ok, output=output)
