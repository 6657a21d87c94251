"""Checks for Python tools: compile() for syntax, tree-sitter for structure and policy.

compile() gives the exact line, column and message Python itself would report,
which is what a model needs to fix its code; tree-sitter's error recovery often
places an unclosed bracket at the start of the file. Once the source compiles,
one tree-sitter parse serves every structural and policy query.

This is lint, not isolation: `vars(__builtins__)["ev" + "al"]` or a walk through
`().__class__.__base__.__subclasses__()` gets past any static check. The sandbox
is the boundary; these checks keep honest tools honest and tell the model what
it did wrong.
"""

import ast
import sys
import warnings
from dataclasses import dataclass

from tree_sitter import Node

from toolsmith.core.base.config import ChecksConfig
from toolsmith.core.base.diagnostics import Diagnostic
from toolsmith.core.base.manifest import Manifest
from toolsmith.core.tools.checks import diagnostic
from toolsmith.core.tools.treesitter import ParsedSource, text

from . import lint

NETWORK_MODULES = frozenset({
    "socket", "ssl", "socketserver", "asyncio.streams", "urllib.request", "http.client", "http.server",
    "ftplib", "smtplib", "poplib", "imaplib", "nntplib", "telnetlib", "xmlrpc", "webbrowser",
    "requests", "httpx", "aiohttp", "urllib3", "websockets", "websocket", "paramiko", "pycurl",
})
SHELL_OPTION_CALLS = frozenset({
    "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen",
})
ALWAYS_SHELL_CALLS = frozenset({
    "subprocess.getoutput", "subprocess.getstatusoutput", "asyncio.create_subprocess_shell",
})
NETWORK_CALLS = frozenset({
    "asyncio.open_connection", "asyncio.start_server", "asyncio.open_unix_connection", "asyncio.start_unix_server",
})
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "cmd", "powershell", "pwsh"})
DYNAMIC_ACCESS_TARGETS = frozenset({"builtins", "os", "subprocess", "sys", "importlib", "shutil"})
_HINTS = {
    "eval": "; parse data with json or ast.literal_eval instead",
    "exec": "; write the code directly instead",
    "compile": " (the built-in compiles code to run it; re.compile is fine)",
    "__import__": "; use a plain import statement",
    "os.system": "; use subprocess.run([...]) with a list of arguments",
    "os.popen": "; use subprocess.run([...], capture_output=True, text=True)",
}

# One query, so the tree is walked once for every import and call.
POLICY_QUERY = "(import_statement) @import (import_from_statement) @from (call) @call"
MAIN_CALL_QUERY = '(call function: (identifier) @name (#eq? @name "main"))'


@dataclass(frozen=True)
class Import:
    module: str  # "urllib" for both `import urllib` and `from urllib import request`
    node: Node
    members: tuple[str, ...] = ()  # full names a `from` import takes: ("urllib.request",)
    relative: bool = False


def check(source: str, manifest: Manifest | None, settings: ChecksConfig) -> list[Diagnostic]:
    found = compile_diagnostics(source)
    if any(d.severity == "error" for d in found):
        return found  # a broken tree gives misleading structure findings; fix syntax first
    parsed = ParsedSource(source, "python")
    caught = parsed.captures(POLICY_QUERY)
    imports, aliases = _imports(parsed, caught)
    found += _structure(parsed)
    found += _import_policy(parsed, imports, manifest, settings)
    found += _call_policy(parsed, caught.get("call", []), aliases, manifest, settings)
    return found + lint.ruff_diagnostics(source)


def compile_diagnostics(source: str) -> list[Diagnostic]:
    """The syntax error Python reports (one, like Python), or its syntax warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            compile(source, "tool.py", "exec", dont_inherit=True)
        except SyntaxError as e:
            return [_syntax_error(source, e)]
        except ValueError:  # Python 3.11 rejects NUL characters this way
            line, column = _position_of(source, source.index("\0"))
            return [diagnostic(source, "syntax", "source contains a NUL character", line, column)]
    return [
        diagnostic(source, "syntax-warning", str(w.message), w.lineno or 1, 1, severity="warning")
        for w in caught
        if issubclass(w.category, (SyntaxWarning, DeprecationWarning))
    ]


def _syntax_error(source: str, e: SyntaxError) -> Diagnostic:
    line, column = e.lineno or 1, max(e.offset or 1, 1)
    end_line, end_column = e.end_lineno, e.end_offset
    if not end_line or not end_column or end_column < 1 or (end_line, end_column) <= (line, column):
        end_line = end_column = None
    return diagnostic(source, "syntax", e.msg, line, column, end_line, end_column)


def _position_of(source: str, index: int) -> tuple[int, int]:
    line = source.count("\n", 0, index) + 1
    return line, index - (source.rfind("\n", 0, index) + 1) + 1


def _imports(parsed: ParsedSource, caught: dict[str, list[Node]]) -> tuple[list[Import], dict[str, str]]:
    """Every import, and the names they bind mapped to what they refer to."""
    imports, aliases = [], {}
    for node in caught.get("import", []):
        for name in node.children_by_field_name("name"):
            if name.type == "aliased_import":
                module = text(name.child_by_field_name("name"))
                aliases[text(name.child_by_field_name("alias"))] = module
            else:
                module = text(name)
                head = module.split(".")[0]
                aliases[head] = head
            imports.append(Import(module, name))
    for node in caught.get("from", []):
        module_node = node.child_by_field_name("module_name")
        if module_node.type == "relative_import":
            imports.append(Import(text(module_node), module_node, relative=True))
            continue
        module, members = text(module_node), []
        for name in node.children_by_field_name("name"):
            target = name.child_by_field_name("name") if name.type == "aliased_import" else name
            bound = name.child_by_field_name("alias") if name.type == "aliased_import" else name
            aliases[text(bound)] = f"{module}.{text(target)}"
            members.append(f"{module}.{text(target)}")
        imports.append(Import(module, module_node, tuple(members)))
    for node in parsed.root.named_children:  # a tool's own top-level def shadows a built-in
        definition = node.child_by_field_name("definition") if node.type == "decorated_definition" else node
        if definition is not None and definition.type in ("function_definition", "class_definition"):
            name = text(definition.child_by_field_name("name"))
            aliases.setdefault(name, f"__main__.{name}")
    return imports, aliases


def _structure(parsed: ParsedSource) -> list[Diagnostic]:
    """A top-level `def main` and an `if __name__ == "__main__":` block calling it."""
    source, top = parsed.source, parsed.root.named_children
    found = []
    if not any(_function_name(node) == "main" for node in top):
        found.append(diagnostic(
            source, "missing-main",
            "no top-level `def main():`; put the tool's work in a function named main", 1, 1,
        ))
    guards = [node for node in top if node.type == "if_statement" and _is_main_guard(node)]
    if not guards:
        last = max(len(source.splitlines()), 1)
        found.append(diagnostic(
            source, "missing-main-guard",
            'no `if __name__ == "__main__":` block calling main(); end the file with one', last, 1,
        ))
    elif not any(parsed.captures(MAIN_CALL_QUERY, guard).get("name") for guard in guards):
        found.append(diagnostic(
            source, "missing-main-guard",
            'the `if __name__ == "__main__":` block does not call main()', **parsed.span(guards[0].children[0]),
        ))
    return found


def _function_name(node: Node) -> str | None:
    if node.type == "decorated_definition":
        node = node.child_by_field_name("definition")
    if node.type == "function_definition":
        return text(node.child_by_field_name("name"))
    return None


def _is_main_guard(node: Node) -> bool:
    condition = node.child_by_field_name("condition")
    if condition.type != "comparison_operator" or len(condition.named_children) != 2:
        return False
    operators = [text(child) for child in condition.children if not child.is_named]
    sides = {_literal_or_name(side) for side in condition.named_children}
    return operators == ["=="] and sides == {"__name__", ("__main__",)}


def _literal_or_name(node: Node):
    """An identifier's name, or a 1-tuple holding a string literal's value (so they never collide)."""
    if node.type == "identifier":
        return text(node)
    value = literal(node)
    return (value,) if isinstance(value, str) else None


def literal(node: Node):
    """The value of a literal expression (string, number, True/False/None, ...), else None."""
    if node.type == "string" and any(child.type == "interpolation" for child in node.children):
        return None
    try:
        return ast.literal_eval(text(node))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _import_policy(parsed, imports, manifest, settings) -> list[Diagnostic]:
    allowed = _STDLIB | {_normal(name) for name in settings.allowed_imports}
    if manifest is not None:
        allowed |= {_normal(name) for name in manifest.requires}
    network = manifest is not None and manifest.network
    found = []
    for imp in imports:
        if imp.relative:
            found.append(_at(parsed, imp.node, "forbidden-import",
                             "relative import: a tool is a single file, so there is no package to import from"))
            continue
        top = imp.module.split(".")[0]
        if _normal(top) not in allowed:
            found.append(_at(parsed, imp.node, "forbidden-import",
                             f"import of {top!r}: not in the standard library; use the standard library, "
                             "or list it in the manifest's requires"))
        reached = next((name for name in (imp.module, *imp.members) if _is_network(name)), None)
        if reached and not network:
            found.append(_at(parsed, imp.node, "network-import",
                             f"import of {reached!r} gives network access, "
                             "but the manifest does not set network = true"))
    return found


def _normal(name: str) -> str:
    return name.lower().replace("-", "_")


_STDLIB = frozenset(_normal(name) for name in sys.stdlib_module_names)


def _is_network(module: str) -> bool:
    """True for a network module or anything inside one ("urllib.request.urlopen")."""
    parts = module.split(".")
    return any(".".join(parts[:end]) in NETWORK_MODULES for end in range(1, len(parts) + 1))


def _call_policy(parsed, calls, aliases, manifest, settings) -> list[Diagnostic]:
    forbidden = set(settings.forbidden_calls)
    network = manifest is not None and manifest.network
    found = []
    for call in calls:
        function, arguments = call.child_by_field_name("function"), call.child_by_field_name("arguments")
        name = qualified_name(function, aliases)
        if name is None:
            continue
        if name in forbidden:
            found.append(_at(parsed, function, "forbidden-call",
                             f"call to {name}() is not allowed in a tool{_HINTS.get(name, '')}"))
        elif settings.forbid_shell and _runs_shell(name, arguments):
            found.append(_at(parsed, call, "shell-true",
                             f"{name}() runs a shell command line; pass a list of arguments "
                             "(e.g. subprocess.run([\"ls\", path])) without shell=True or `sh -c`"))
        elif name in NETWORK_CALLS and not network:
            found.append(_at(parsed, function, "network-call",
                             f"{name}() opens a network connection, but the manifest does not set network = true"))
        elif name == "getattr":
            found += _getattr_policy(parsed, arguments, aliases, forbidden)
        elif name == "importlib.import_module":
            found += _import_module_policy(parsed, arguments, settings, manifest, network)
    return found


def qualified_name(node: Node, aliases: dict[str, str]) -> str | None:
    """`o.system` with `import os as o` -> "os.system"; `system` from `from os import system` too."""
    if node.type == "identifier":
        name = text(node)
        resolved = aliases.get(name, name)
    elif node.type == "attribute":
        owner = qualified_name(node.child_by_field_name("object"), aliases)
        if owner is None:
            return None
        resolved = f"{owner}.{text(node.child_by_field_name('attribute'))}"
    else:
        return None
    return resolved.removeprefix("builtins.").removeprefix("__builtins__.")


def _arguments(arguments: Node) -> tuple[list[Node], dict[str, Node]]:
    positional, keywords = [], {}
    for child in arguments.named_children:
        if child.type == "keyword_argument":
            keywords[text(child.child_by_field_name("name"))] = child.child_by_field_name("value")
        elif child.type != "comment":
            positional.append(child)
    return positional, keywords


def _runs_shell(name: str, arguments: Node) -> bool:
    """shell=True (or a variable), a shell-only function, or an argv like ["sh", "-c", ...]."""
    if name in ALWAYS_SHELL_CALLS:
        return True
    if name not in SHELL_OPTION_CALLS:
        return False
    positional, keywords = _arguments(arguments)
    shell = keywords.get("shell")
    if shell is not None and text(shell) not in ("False", "None", "0"):
        return True
    argv = positional[0] if positional else keywords.get("args")
    return argv is not None and _is_shell_argv(argv)


def _is_shell_argv(argv: Node) -> bool:
    if argv.type not in ("list", "tuple") or len(argv.named_children) < 2:
        return False
    program, flag = (literal(node) for node in argv.named_children[:2])
    return isinstance(program, str) and program.rsplit("/", 1)[-1] in SHELLS and flag in ("-c", "/c", "-Command")


def _getattr_policy(parsed, arguments, aliases, forbidden) -> list[Diagnostic]:
    positional, _ = _arguments(arguments)
    if len(positional) < 2:
        return []
    owner = qualified_name(positional[0], aliases)
    attribute = literal(positional[1])
    if isinstance(attribute, str):
        name = f"{owner}.{attribute}".removeprefix("builtins.") if owner else None
        if name in forbidden:
            return [_at(parsed, positional[1], "forbidden-call",
                        f"getattr() reaches {name}, which is not allowed in a tool{_HINTS.get(name, '')}")]
        return []
    if owner in DYNAMIC_ACCESS_TARGETS or text(positional[0]) == "__builtins__":
        return [_at(parsed, positional[1], "dynamic-access",
                    f"getattr() on {text(positional[0])} with a computed name hides which function runs; "
                    "call it by name", severity="warning")]
    return []


def _import_module_policy(parsed, arguments, settings, manifest, network) -> list[Diagnostic]:
    positional, _ = _arguments(arguments)
    if not positional:
        return []
    module = literal(positional[0])
    if not isinstance(module, str):
        return [_at(parsed, positional[0], "dynamic-import",
                    "importlib.import_module() with a computed name hides what is imported; import it by name",
                    severity="warning")]
    return _import_policy(parsed, [Import(module, positional[0])], manifest, settings)


def _at(parsed: ParsedSource, node: Node, rule: str, message: str, severity: str = "error") -> Diagnostic:
    return diagnostic(parsed.source, rule, message, **parsed.span(node), severity=severity)
