"""Parameters of a hand-written Python script, read from its argparse calls.

Each `add_argument(...)` call becomes a Parameter. An option keeps the spelling
of its long flag (`--dry-run` -> name "dry-run") and a short-only option its
letter (`-x` -> "x"), so the name maps back to the exact flag the script
accepts: `--dry-run`, or `-x` for a one-letter name.
"""

import re

from tree_sitter import Node

from toolsmith.core.base.manifest import Parameter
from toolsmith.core.tools import parameter_guess
from toolsmith.core.tools.treesitter import ParsedSource, text

from .checks import literal, qualified_name

ADD_ARGUMENT_QUERY = (
    '(call function: (attribute attribute: (identifier) @method (#eq? @method "add_argument"))) @call'
)
_PATH_TYPES = {"Path", "pathlib.Path"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # what a manifest accepts as a parameter name
_MULTIPLE_NARGS = {"+", "*"}


def infer_parameters(source: str) -> list[Parameter]:
    parsed = ParsedSource(source, "python")
    found = []
    for call in parsed.captures(ADD_ARGUMENT_QUERY).get("call", []):
        parameter = _parameter(call.child_by_field_name("arguments"))
        if parameter is not None and all(p.name != parameter.name for p in found):
            found.append(parameter)
    return found


def _parameter(arguments: Node) -> Parameter | None:
    flags, options = [], {}
    for child in arguments.named_children:
        if child.type == "keyword_argument":
            options[text(child.child_by_field_name("name"))] = child.child_by_field_name("value")
        elif isinstance(value := literal(child), str):
            flags.append(value)
    if not flags:
        return None
    action = _value(options, "action")
    if action in ("help", "version"):
        return None
    positional = not flags[0].startswith("-")
    name = _name(flags, positional)
    if name is None:
        return None
    help_text = _value(options, "help")
    help_text = help_text if isinstance(help_text, str) else ""
    nargs = _value(options, "nargs")
    default = _value(options, "default")
    kind, access = _kind(name, help_text, action, options.get("type"))
    return Parameter(
        name=name,
        kind=kind,
        help=help_text,
        access=access,
        positional=positional,
        required=_required(positional, options, nargs),
        multiple=action in ("append", "extend") or nargs in _MULTIPLE_NARGS or isinstance(nargs, int) and nargs > 1,
        default=default if isinstance(default, (str, int, bool)) else None,
    )


def _value(options: dict[str, Node], key: str):
    return literal(options[key]) if key in options else None


def _name(flags: list[str], positional: bool) -> str | None:
    if positional:
        name = flags[0]
    else:
        long = next((flag for flag in flags if flag.startswith("--")), None)
        name = long[2:] if long else flags[0].lstrip("-")
    return name if _NAME.fullmatch(name) else None


def _kind(name: str, help_text: str, action, type_node: Node | None) -> tuple[str, str | None]:
    if action in ("store_true", "store_false", "store_const", "count"):
        return ("int", None) if action == "count" else ("flag", None)
    type_name = _type_name(type_node)
    if type_name == "int":
        return "int", None
    if type_name in ("argparse.FileType", "FileType"):
        return "file", "write" if set(_file_mode(type_node)) & set("wax") else "read"
    if type_name in _PATH_TYPES or (type_name in (None, "str") and parameter_guess.looks_like_path(name)):
        return parameter_guess.path_kind(name, help_text), parameter_guess.path_access(name, help_text)
    return "string", None


def _file_mode(type_node: Node) -> str:
    """The mode of `argparse.FileType("w")`; "r" when it is left out."""
    if type_node.type != "call" or not type_node.child_by_field_name("arguments").named_children:
        return "r"
    mode = literal(type_node.child_by_field_name("arguments").named_children[0])
    return mode if isinstance(mode, str) else "r"


def _type_name(node: Node | None) -> str | None:
    """The dotted name of `type=`: "int", "pathlib.Path", "argparse.FileType" (called or not)."""
    if node is None:
        return None
    if node.type == "call":
        node = node.child_by_field_name("function")
    return qualified_name(node, {})


def _required(positional: bool, options: dict[str, Node], nargs) -> bool:
    if positional:
        return nargs not in ("?", "*") and "default" not in options
    return _value(options, "required") is True
