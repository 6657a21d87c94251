"""The checks every tool's source passes before it is saved or run.

Each language checks syntax, structure and policy, then every plugin's
``toolsmith_check_source`` hook adds its own findings. These checks are lint for
the model's benefit and the user's trust, not isolation: a determined program can
hide what it does from any static check, and the sandbox is the boundary.
"""

from pathlib import Path

from ..base import config, diagnostics
from ..base.config import ChecksConfig
from ..base.diagnostics import Diagnostic
from ..base.errors import ToolsmithError
from ..base.manifest import PATH_KINDS, Manifest
from ..base.plugin_host import PluginError, load_plugins, pm
from .languages import get_language


class SourceError(ToolsmithError):
    """A tool's source cannot be read as text (missing, binary, not UTF-8, too large)."""


def read_source(path: Path, max_bytes: int) -> str:
    """Read a tool's source as UTF-8 text, refusing large files before reading them."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise SourceError(f"{path}: is a folder; give the tool's source file")
        if size > max_bytes:
            raise SourceError(_too_large(path, size, max_bytes))
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)  # the file may have grown since stat()
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file") from None
    except PermissionError:
        raise SourceError(f"{path}: permission denied") from None
    return decode_source(data, str(path), max_bytes)


def decode_source(data: bytes, origin: str, max_bytes: int) -> str:
    """Source text from bytes (a file, a model's reply, a download); `origin` names them in errors."""
    if len(data) > max_bytes:
        raise SourceError(_too_large(origin, len(data), max_bytes))
    nul = data.find(b"\0")
    if nul >= 0:
        raise SourceError(f"{origin}: binary data (NUL byte at offset {nul}), not source text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise SourceError(
            f"{origin}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}, line {line}); "
            "save the file as UTF-8"
        ) from None


def _too_large(origin, size: int, max_bytes: int) -> str:
    return (
        f"{origin}: {size} bytes is over the {max_bytes}-byte limit for a tool's source "
        "(raise checks.max_source_bytes in the config if this is really a tool)"
    )


def check_source(
    source: str, manifest: Manifest | None, language: str, settings: ChecksConfig | None = None
) -> list[Diagnostic]:
    """The language's checks plus every plugin's, sorted by position."""
    settings = settings if settings is not None else config.load().checks
    found = manifest_checks(manifest) + list(get_language(language).check(source, manifest, settings))
    load_plugins()
    for extra in pm.hook.toolsmith_check_source(source=source, manifest=manifest, language=language):
        for item in extra or []:
            if not isinstance(item, Diagnostic):
                raise PluginError(
                    f"a toolsmith_check_source plugin returned {item!r}, not a Diagnostic "
                    "(set TOOLSMITH_TRACE_PLUGINS=1 to see which plugin)"
                )
            found.append(item)
    return sorted(found, key=lambda d: (d.line, d.column))


def manifest_checks(manifest: Manifest | None) -> list[Diagnostic]:
    """A path parameter with a default would grant the tool a path the user never typed.
    From a model that is refused (the repair loop drops the default); in a hand-written
    manifest it is a warning: each run asks the user to confirm that path."""
    if manifest is None:
        return []
    severity = "warning" if manifest.origin == "hand" else "error"
    return [
        Diagnostic(
            rule="path-default",
            message=(
                f"parameter {p.name!r} ({p.kind}, {p.access}) has the default {p.default!r}: a path is granted only "
                "when the user passes it; remove the default (make it required, or let the tool do without it)"
                + ("; each run asks the user to confirm it" if severity == "warning" else "")
            ),
            line=1,
            column=1,
            severity=severity,
        )
        for p in manifest.parameters
        if p.kind in PATH_KINDS and p.default not in (None, "", False)
    ]


def diagnostic(
    source: str,
    rule: str,
    message: str,
    line: int,
    column: int,
    end_line: int | None = None,
    end_column: int | None = None,
    severity: str = "error",
) -> Diagnostic:
    """A Diagnostic with its snippet; the caret spans the range when it fits on one line."""
    width = end_column - column if end_line == line and end_column and end_column > column else 1
    return Diagnostic(
        rule=rule,
        message=message,
        line=line,
        column=column,
        end_line=end_line,
        end_column=end_column,
        severity=severity,
        snippet=diagnostics.snippet(source, line, column, width),
    )


def has_errors(found: list[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in found)
