"""Built-in language: Python tools (`tool.py`), run with `python3`."""

from pathlib import Path

from toolsmith.core import hookimpl
from toolsmith.core.base.config import ChecksConfig
from toolsmith.core.base.diagnostics import Diagnostic
from toolsmith.core.base.manifest import Manifest, Parameter


class PythonLanguage:
    name = "python"
    source_file = "tool.py"

    def check(self, source: str, manifest: Manifest | None, settings: ChecksConfig | None) -> list[Diagnostic]:
        from . import checks  # tree-sitter and the linters load only when a check runs

        return checks.check(source, manifest, settings if settings is not None else ChecksConfig())

    def infer_parameters(self, source: str) -> list[Parameter]:
        from . import parameters

        return parameters.infer_parameters(source)

    def command(self, source_path: Path) -> list[str]:
        return ["python3", "-u", str(source_path)]  # unbuffered: `toolsmith run` shows each line as it is printed


@hookimpl
def toolsmith_register_languages(register):
    register(PythonLanguage())
