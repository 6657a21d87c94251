"""Built-in language: bash tools (`tool.sh`), run with `bash`."""

from pathlib import Path

from toolsmith.core import hookimpl
from toolsmith.core.base.config import ChecksConfig
from toolsmith.core.base.diagnostics import Diagnostic
from toolsmith.core.base.manifest import Manifest, Parameter


class BashLanguage:
    name = "bash"
    source_file = "tool.sh"

    def check(self, source: str, manifest: Manifest | None, settings: ChecksConfig | None) -> list[Diagnostic]:
        from . import checks  # tree-sitter and the linters load only when a check runs

        return checks.check(source, manifest, settings if settings is not None else ChecksConfig())

    def infer_parameters(self, source: str) -> list[Parameter]:
        from . import parameters

        return parameters.infer_parameters(source)

    def command(self, source_path: Path) -> list[str]:
        return ["bash", str(source_path)]


@hookimpl
def toolsmith_register_languages(register):
    register(BashLanguage())
