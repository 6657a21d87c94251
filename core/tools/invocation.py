"""Turn `toolsmith run NAME ARGS...` into a command line and a sandbox policy.

The manifest says which arguments are paths and whether the tool reads or writes
there; `toolsmith.core.tools.grants` then allows exactly those paths, so a tool
touches only what the user passed to it. Paths are made absolute, and manifest
defaults are passed explicitly, so what runs is exactly what the plan shows.
"""

import argparse
import dataclasses
from pathlib import Path

import msgspec

from ..base.config import SandboxConfig
from ..base.errors import ToolsmithError
from ..base.manifest import PATH_KINDS, Parameter
from .languages import get_language
from .library import Tool


class ToolArgumentError(ToolsmithError):
    pass


class Invocation(msgspec.Struct, frozen=True):
    argv: list[str]
    arguments: dict[str, object]  # parameter name -> value (absolute paths for path kinds)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ToolArgumentError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def parser_for(tool: Tool) -> argparse.ArgumentParser:
    """An argparse parser that mirrors the manifest (used to validate and to show help)."""
    m = tool.manifest
    parser = _Parser(prog=f"toolsmith run {m.name}", description=m.description, add_help=False, exit_on_error=False)
    for p in m.parameters:
        kwargs = {"help": _help(p) or None}
        if p.kind == "flag":
            kwargs["action"] = "store_true"
        else:
            kwargs["type"] = int if p.kind == "int" else str
            if p.multiple:
                kwargs["nargs" if p.positional else "action"] = ("+" if p.required else "*") if p.positional else "append"
            elif p.positional and not p.required:
                kwargs["nargs"] = "?"
        if p.positional:
            parser.add_argument(p.name, **kwargs)
        else:
            parser.add_argument(option(p), dest=p.name, required=p.required, **kwargs)
    return parser


def _help(p: Parameter) -> str:
    """The manifest's help with its default shown (argparse never sees the defaults: invocation applies them)."""
    text = p.help.replace("%(default)s", str(p.default))
    if p.default not in (None, False, []) and "default" not in text:
        text += f" (default {p.default})"
    return text.replace("%", "%%")  # argparse formats help with %


def invocation(tool: Tool, args: list[str], cwd: Path) -> Invocation:
    values = vars(parser_for(tool).parse_args(args))
    arguments, argv = {}, []
    for p in tool.manifest.parameters:
        value = values.get(p.name)
        if value is None or value is False or value == []:
            value = p.default if not p.positional else value
        if value is None or value is False or value == []:
            continue
        items = value if isinstance(value, list) else [value]
        if p.kind in PATH_KINDS:
            items = [str((cwd / Path(str(item)).expanduser()).resolve()) for item in items]
        arguments[p.name] = items if p.multiple else items[0]
        argv += _render(p, items)
    language = get_language(tool.manifest.language)
    return Invocation(argv=[*language.command(tool.source_path), *argv], arguments=arguments)


def policy_for(tool: Tool, inv: Invocation, settings: SandboxConfig, allow_degraded: bool = False):
    """Exactly the paths the user passed, with the access the manifest declares."""
    from .grants import tool_policy  # the sandbox's policy types load only for a run

    policy = tool_policy(
        tool.manifest,
        inv.arguments,
        tool_dir=str(tool.path),
        timeout=settings.timeout,
        memory_mb=settings.memory_mb,
        allow_degraded=allow_degraded or settings.allow_degraded,
    )
    return dataclasses.replace(policy, preview_mb=settings.preview_mb, preview_files=settings.preview_files)


def _render(p: Parameter, items: list) -> list[str]:
    if p.positional:
        return [str(item) for item in items]
    if p.kind == "flag":
        return [option(p)]
    rendered = []
    for item in items:
        rendered += [option(p), str(item)]
    return rendered


def option(p: Parameter) -> str:
    """The flag the tool accepts: `-x` for a one-letter name (argparse short option, getopts)."""
    return f"-{p.name}" if len(p.name) == 1 else f"--{p.name}"
