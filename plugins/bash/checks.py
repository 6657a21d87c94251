"""Checks for bash tools: syntax, the main-function layout, strict mode and policy.

Syntax: `bash -n` (parse only, nothing runs) is the authority, since bash is what
runs the tool; tree-sitter-bash supplies the column. Where bash is missing,
tree-sitter's ERROR and MISSING nodes are the errors. Where bash accepts what
tree-sitter cannot parse, that is a warning: bash may fail there at run time
(`$(( 1 + ))`), or the grammar may lag behind bash.

Like the Python checks this is lint, not isolation; the sandbox is the boundary.
"""

import re
import shutil
import subprocess
from pathlib import PurePosixPath

from tree_sitter import Node

from toolsmith.core.base.config import ChecksConfig
from toolsmith.core.base.diagnostics import Diagnostic
from toolsmith.core.base.manifest import Manifest
from toolsmith.core.tools.checks import diagnostic
from toolsmith.core.tools.treesitter import ParsedSource, problems, text

from . import lint

FORBIDDEN_COMMANDS = {
    "eval": "eval runs a string as code; call the command directly",
    "sudo": "a tool never asks for more privileges than the user who runs it",
    "su": "a tool never asks for more privileges than the user who runs it",
    "doas": "a tool never asks for more privileges than the user who runs it",
    "pkexec": "a tool never asks for more privileges than the user who runs it",
}
NETWORK_COMMANDS = frozenset({
    "curl", "wget", "nc", "ncat", "netcat", "socat", "ssh", "scp", "sftp", "ftp", "telnet",
})
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh"})
STRICT_OPTIONS = {"e": "errexit", "u": "nounset", "pipefail": "pipefail"}

COMMANDS_QUERY = "(command name: (command_name) @name) @command"
REDIRECTS_QUERY = "(file_redirect destination: (_) @destination)"
_BASH_ERROR = re.compile(r"line (\d+): (.*)")
_LITERAL_TYPES = {"word", "raw_string", "number"}


def check(source: str, manifest: Manifest | None, settings: ChecksConfig) -> list[Diagnostic]:
    """`settings.forbidden_calls` names Python functions; bash has its own fixed list."""
    parsed = ParsedSource(source, "bash")
    found = syntax_diagnostics(parsed)
    if found:
        return found  # a broken tree gives misleading structure findings; fix syntax first
    network = manifest is not None and manifest.network
    return _structure(parsed) + _command_policy(parsed, network) + lint.shellcheck_diagnostics(source)


def syntax_diagnostics(parsed: ParsedSource) -> list[Diagnostic]:
    """bash's own syntax error (column from tree-sitter), or tree-sitter's first problem."""
    broken = problems(parsed.root)
    bash = shutil.which("bash")
    if bash is None:
        return [_problem(parsed, _first_cause(broken), "error")] if broken else []
    result = subprocess.run(
        [bash, "-n", "/dev/stdin"], input=parsed.source, capture_output=True, text=True, timeout=30,
    )
    match = _BASH_ERROR.search(result.stderr)
    if result.returncode == 0 or match is None:
        return [_problem(parsed, _first_cause(broken), "warning")] if broken else []
    line = min(int(match.group(1)), max(len(parsed.source.splitlines()), 1))  # bash counts past the end
    column = next((parsed.position(n.start_point)[1] for n in broken if n.start_point[0] == line - 1), None)
    return [diagnostic(parsed.source, "syntax", match.group(2), line, column or _indent(parsed.source, line))]


def _indent(source: str, line: int) -> int:
    """The column of the line's first non-blank character (1 for a line past the end)."""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return 1
    text_line = lines[line - 1]
    return len(text_line) - len(text_line.lstrip()) + 1


def _first_cause(broken: list[Node]) -> Node:
    """The first problem, narrowed to the innermost one inside it (later ones are often knock-on)."""
    cause = broken[0]
    for node in broken[1:]:
        if not (cause.start_byte <= node.start_byte and node.end_byte <= cause.end_byte):
            break
        cause = node
    return cause


def _problem(parsed: ParsedSource, node: Node, severity: str) -> Diagnostic:
    if node.is_missing:
        opened = parsed.position(node.parent.start_point)[0] if node.parent else 1
        message = f"missing `{node.type}` (to close what starts on line {opened})"
    else:
        code = text(node).strip()
        message = f"cannot parse `{code.splitlines()[0][:40]}`" if code else "cannot parse this"
    if severity == "warning":
        message += " (bash -n accepts it, but it may fail when run)"
    return diagnostic(parsed.source, "syntax", message, **parsed.span(node), severity=severity)


def _structure(parsed: ParsedSource) -> list[Diagnostic]:
    """A `main` function, called last as `main "$@"`, after `set -euo pipefail`."""
    source, top = parsed.source, parsed.root.named_children
    found = []
    if not any(n.type == "function_definition" and text(n.child_by_field_name("name")) == "main" for n in top):
        found.append(diagnostic(source, "missing-main",
                                "no `main() { ... }` function; put the tool's work in a function named main", 1, 1))
    calls = [n for n in top if n.type == "command" and command_name(n) == "main"]
    if not calls:
        found.append(diagnostic(source, "missing-main-call",
                                'main is never called; end the script with: main "$@"',
                                max(len(source.splitlines()), 1), 1))
    elif not any(_passes_all_arguments(call) for call in calls):
        found.append(diagnostic(source, "missing-main-call",
                                'call main with all the script\'s arguments: main "$@"', **parsed.span(calls[0])))
    before_main = top[: top.index(calls[0])] if calls else top
    missing = set(STRICT_OPTIONS)
    for node in before_main:
        if node.type == "command" and command_name(node) == "set":
            missing -= _set_options(node)
    if missing:
        names = ", ".join(STRICT_OPTIONS[option] for option in STRICT_OPTIONS if option in missing)
        found.append(diagnostic(source, "strict-mode",
                                f"no `set -euo pipefail` near the top (missing {names}): "
                                "without it a failing command goes unnoticed", 1, 1, severity="warning"))
    return found


def command_name(node: Node) -> str:
    name = node.child_by_field_name("name")
    return PurePosixPath(text(name)).name if name is not None else ""


def _arguments(node: Node) -> list[Node]:
    return node.children_by_field_name("argument")


def _passes_all_arguments(call: Node) -> bool:
    return [text(a) for a in _arguments(call)] in (['"$@"'], ['"${@}"'])


def _set_options(node: Node) -> set[str]:
    """Options `set` turns on: -euo pipefail, -e -u -o pipefail, -o errexit ..."""
    on, words = set(), [text(a) for a in _arguments(node)]
    long_names = {value: key for key, value in STRICT_OPTIONS.items()}
    for index, word in enumerate(words):
        if word.startswith("-") and not word.startswith("--"):
            on |= set(word[1:])
            if "o" in word[1:] and index + 1 < len(words):
                on.add(long_names.get(words[index + 1], words[index + 1]))
    return on


def _command_policy(parsed: ParsedSource, network: bool) -> list[Diagnostic]:
    found = []
    for node in parsed.captures(COMMANDS_QUERY).get("command", []):
        name = command_name(node)
        where = parsed.span(node.child_by_field_name("name"))
        if name in FORBIDDEN_COMMANDS:
            found.append(_at(parsed, where, "forbidden-command", f"`{name}` is not allowed in a tool: "
                                                                 f"{FORBIDDEN_COMMANDS[name]}"))
        elif name in NETWORK_COMMANDS and not network:
            found.append(_at(parsed, where, "network-command",
                             f"`{name}` reaches the network, but the manifest does not set network = true"))
        elif name in ("source", ".") and not _is_literal(_arguments(node)[:1]):
            found.append(_at(parsed, where, "dynamic-source",
                             f"`{name}` of a computed path runs code no check can see; "
                             "put that code in the tool itself"))
        elif name in SHELLS and _runs_computed_code(_arguments(node)):
            found.append(_at(parsed, where, "forbidden-command",
                             f"`{name} -c` with a computed command line is eval by another name; "
                             "call the commands directly"))
    if not network:
        for destination in parsed.captures(REDIRECTS_QUERY).get("destination", []):
            if re.match(r"[\"']?/dev/(tcp|udp)/", text(destination)):
                found.append(_at(parsed, parsed.span(destination), "network-command",
                                 "redirecting to /dev/tcp or /dev/udp reaches the network, "
                                 "but the manifest does not set network = true"))
    return found


def _runs_computed_code(arguments: list[Node]) -> bool:
    words = [text(a) for a in arguments]
    return "-c" in words and not _is_literal(arguments[words.index("-c") + 1:][:1])


def _is_literal(nodes: list[Node]) -> bool:
    """A single argument with no expansion in it."""
    if len(nodes) != 1:
        return False
    node = nodes[0]
    return node.type in _LITERAL_TYPES or node.type == "string" and all(
        child.type == "string_content" or not child.is_named for child in node.children
    )


def _at(parsed: ParsedSource, where: dict, rule: str, message: str) -> Diagnostic:
    return diagnostic(parsed.source, rule, message, **where)
