"""`toolsmith check PATH`: run a tool's source checks and print what they found."""

import sys
from pathlib import Path

import click
import msgspec
from rich.syntax import Syntax
from rich.text import Text

from ...base import config
from ...base import manifest as manifest_module
from ...base.diagnostics import Diagnostic
from ...base.manifest import MANIFEST_FILE, ManifestError
from ...tools.checks import SourceError, check_source, has_errors, read_source
from ...tools.languages import get_language, language_for_file
from .output import console, emit_json, is_terminal, json_option

_LEXERS = {"python": "python", "bash": "bash"}



@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--manifest", "manifest_path", type=click.Path(path_type=Path),
              help=f"The tool's manifest (default: {MANIFEST_FILE} beside the source, if any).")
@json_option
def check(path: Path, manifest_path: Path | None, as_json: bool) -> None:
    """Check a tool's source (a file, or a tool folder with tool.toml).

    Prints `path:line:col: rule: message` per finding (warnings end with
    "(warning)"); on a terminal, with the source line and a caret. Exits 1 when
    there are errors; warnings alone exit 0. The checks keep honest tools honest
    and tell a model what to fix; the sandbox, not this lint, is the boundary.
    """
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    manifest_path = _manifest_path(path, manifest_path)
    manifest = _read_manifest(manifest_path) if manifest_path else None
    language = get_language(manifest.language) if manifest else language_for_file(path)
    source_path = path / language.source_file if path.is_dir() else path
    settings = config.load().checks
    source = read_source(source_path, settings.max_source_bytes)
    found = check_source(source, manifest, language.name, settings)
    if as_json:
        emit_json({
            "path": str(source_path),
            "language": language.name,
            "manifest": str(manifest_path) if manifest_path else None,
            "errors": sum(d.severity == "error" for d in found),
            "warnings": sum(d.severity != "error" for d in found),
            "diagnostics": msgspec.to_builtins(found),
        })
    elif is_terminal():
        _print_rich(source_path, language.name, found)
    else:
        for d in found:
            suffix = "" if d.severity == "error" else f" ({d.severity})"
            click.echo(f"{source_path}:{d.line}:{d.column}: {d.rule}: {d.message}{suffix}")
    if has_errors(found):
        sys.exit(1)  # not ctx.exit(1): main() runs click with standalone_mode=False, which drops its code


def _manifest_path(path: Path, given: Path | None) -> Path | None:
    """The manifest given, else tool.toml in the tool folder or beside the source file."""
    if given is not None:
        return given
    candidate = path / MANIFEST_FILE if path.is_dir() else path.parent / MANIFEST_FILE
    if candidate.is_file():
        return candidate
    if path.is_dir():
        raise ManifestError(f"{path}: a tool folder needs {MANIFEST_FILE}; or give the source file itself")
    return None


def _read_manifest(path: Path) -> manifest_module.Manifest:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ManifestError(f"{path}: cannot read the manifest: {e.strerror}") from None
    return manifest_module.decode(data, str(path))


def _print_rich(path: Path, language: str, found: list[Diagnostic]) -> None:
    out = console()
    for d in found:
        color = "red" if d.severity == "error" else "yellow"
        out.print(Text.assemble((f"{path}:{d.line}:{d.column}", "bold"), ": ",
                                (f"{d.severity}[{d.rule}]", f"bold {color}"), f": {d.message}"))
        if d.snippet:
            _print_snippet(out, d, language, color)
    errors = sum(d.severity == "error" for d in found)
    summary = f"{errors} error(s), {len(found) - errors} warning(s)" if found else "no problems found"
    out.print(Text(summary, style="bold red" if errors else "bold green"))


def _print_snippet(out, d: Diagnostic, language: str, color: str) -> None:
    """The diagnostic's snippet with the source line highlighted and the caret colored."""
    code_line, caret_line = d.snippet.split("\n", 1)
    prefix, _, code = code_line.partition(" | ")
    highlighted = Syntax(code, _LEXERS.get(language, "text"), theme="ansi_dark").highlight(code)
    highlighted.rstrip()
    out.print(Text.assemble((prefix + " | ", "dim"), highlighted))
    out.print(Text(caret_line, style=f"bold {color}"))
