"""Parameters of a hand-written bash script, read from how it uses its arguments.

Positional parameters come from assignments such as `local input="$1"` or
`out=${2:-out.txt}` in `main` (or at the top level when there is no main; `$1`
in any other function is that function's argument). Options come from a
`getopts` string; getopts only knows single letters, so such a parameter is
named by its letter and its help names the variable it sets.
"""

import re

from tree_sitter import Node

from toolsmith.core.base.manifest import Parameter
from toolsmith.core.tools import parameter_guess
from toolsmith.core.tools.treesitter import ParsedSource, text

from .checks import command_name

ASSIGNMENTS_QUERY = "(variable_assignment) @assignment"
COMMANDS_QUERY = "(command) @command"
CASE_ITEMS_QUERY = "(case_item) @item"
_POSITIONAL = re.compile(r'^"?\$(?:(?P<plain>[1-9])|\{(?P<braced>[1-9][0-9]*)(?::?(?P<op>[-=?])(?P<word>[^}]*))?\})"?$')


def infer_parameters(source: str) -> list[Parameter]:
    parsed = ParsedSource(source, "bash")
    scope = _main_body(parsed.root) or parsed.root
    return _positionals(parsed, scope) + _options(parsed, scope)


def _main_body(root: Node) -> Node | None:
    for node in root.named_children:
        if node.type == "function_definition" and text(node.child_by_field_name("name")) == "main":
            return node.child_by_field_name("body")
    return None


def _in_scope(node: Node, scope: Node) -> bool:
    """True unless a function definition (other than `scope` itself) lies between them."""
    node = node.parent
    while node is not None and node != scope:
        if node.type == "function_definition":
            return False
        node = node.parent
    return True


def _positionals(parsed: ParsedSource, scope: Node) -> list[Parameter]:
    by_index = {}
    for assignment in parsed.captures(ASSIGNMENTS_QUERY, scope).get("assignment", []):
        value = assignment.child_by_field_name("value")
        match = _POSITIONAL.match(text(value)) if value is not None else None
        if match is None or not _in_scope(assignment, scope):
            continue
        index = int(match["plain"] or match["braced"])
        has_default = match["op"] in ("-", "=")
        name = text(assignment.child_by_field_name("name"))
        by_index.setdefault(index, _positional(name, match["word"] if has_default else None))
    return [by_index[index] for index in sorted(by_index)]


def _positional(name: str, default: str | None) -> Parameter:
    kind, access = _kind(name, takes_value=True)
    return Parameter(
        name=name,
        kind=kind,
        access=access,
        positional=True,
        required=default is None,
        default=default.strip("\"'") if default is not None else None,
    )


def _options(parsed: ParsedSource, scope: Node) -> list[Parameter]:
    getopts = next((node for node in parsed.captures(COMMANDS_QUERY, scope).get("command", [])
                    if command_name(node) == "getopts" and _in_scope(node, scope)), None)
    if getopts is None or not getopts.children_by_field_name("argument"):
        return []
    spec = text(getopts.children_by_field_name("argument")[0]).strip("\"'").lstrip(":")
    variables = _variables_set_per_letter(parsed, getopts)
    found = []
    for letter, colon in re.findall(r"([A-Za-z0-9])(:?)", spec):
        variable = variables.get(letter, "")
        if letter == "h" and not variable:
            continue  # -h that prints usage, like argparse's --help
        kind, access = _kind(variable or letter, takes_value=bool(colon))
        found.append(Parameter(name=letter, kind=kind, access=access,
                               help=f"sets ${variable}" if variable else ""))
    return found


def _variables_set_per_letter(parsed: ParsedSource, getopts: Node) -> dict[str, str]:
    """`o) output="$OPTARG" ;;` in the getopts loop's case -> {"o": "output"}."""
    loop = getopts.parent
    while loop is not None and loop.type != "while_statement":
        loop = loop.parent
    if loop is None:
        return {}
    variables = {}
    for item in parsed.captures(CASE_ITEMS_QUERY, loop).get("item", []):
        letters = [text(value).strip("\"'") for value in item.children_by_field_name("value")]
        assignment = next((c for c in item.named_children if c.type == "variable_assignment"), None)
        if assignment is not None:
            for letter in letters:
                variables.setdefault(letter, text(assignment.child_by_field_name("name")))
    return variables


def _kind(name: str, takes_value: bool) -> tuple[str, str | None]:
    if not takes_value:
        return "flag", None
    if parameter_guess.looks_like_path(name):
        return parameter_guess.path_kind(name), parameter_guess.path_access(name)
    return "string", None
