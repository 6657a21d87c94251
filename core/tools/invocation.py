"""Turn `toolsmith run NAME ARGS...` into a command line and a sandbox policy.

The manifest says which arguments are paths and whether the tool reads or writes
there; `toolsmith.core.tools.grants` then allows exactly those paths, so a tool
touches only what the user passed to it. Paths are made absolute, and manifest
defaults are passed explicitly, so what runs is exactly what the plan shows; a path
that comes from a default is marked, since only the user's yes may grant it.
"""

import argparse
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
    defaults: list[str] = []  # path parameters whose value is the manifest's default, not the user's


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
    if p.default not in (None, False, [], "") and ("default" not in text or p.kind in PATH_KINDS):
        text += f" (default {p.default})"  # a path default is always shown: the help text may not hide it
    return text.replace("%", "%%")  # argparse formats help with %


def invocation(tool: Tool, args: list[str], cwd: Path) -> Invocation:
    values = vars(parser_for(tool).parse_args(args))
    arguments, argv, defaults = {}, [], []
    for p in tool.manifest.parameters:
        value = values.get(p.name)
        if (value is None or value is False or value == []) and not p.positional and p.default not in (None, False, ""):
            value = p.default
            if p.kind in PATH_KINDS:
                defaults.append(p.name)
        if value is None or value is False or value == []:
            continue
        items = value if isinstance(value, list) else [value]
        if p.kind in PATH_KINDS:
            items = [str((cwd / Path(str(item)).expanduser()).resolve()) for item in items]
        arguments[p.name] = items if p.multiple else items[0]
        argv += _render(p, items)
    language = get_language(tool.manifest.language)
    return Invocation(argv=[*language.command(tool.source_path), *argv], arguments=arguments, defaults=defaults)


def grants_for(tool: Tool, inv: Invocation) -> list:
    """Exactly the paths passed (defaults marked as such), with the access the manifest declares."""
    from .grants import grants  # the sandbox's policy types load only for a run

    return grants(tool.manifest, inv.arguments, tool_dir=str(tool.path), defaults=inv.defaults)


def policy_for(tool: Tool, inv: Invocation, settings: SandboxConfig, allow_degraded: bool = False, found: list | None = None):
    """The sandbox policy of `found` (default: `grants_for`); network as the manifest declares."""
    from .grants import policy_of

    return policy_of(
        grants_for(tool, inv) if found is None else found,
        tool.manifest.network,
        timeout=settings.timeout,
        memory_mb=settings.memory_mb,
        allow_degraded=allow_degraded or settings.allow_degraded,
        preview_mb=settings.preview_mb,
        preview_files=settings.preview_files,
    )


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
    """The flag the tool accepts for `p`."""
    return flag(p.name)


def flag(name: str) -> str:
    """A parameter's flag: `-x` for a one-letter name (argparse short option, getopts)."""
    return f"-{name}" if len(name) == 1 else f"--{name}"
