"""tree-sitter parsing shared by the language checks.

Parsers and queries are built once per process (a query compiles in about a
millisecond; a check runs many). Tree-sitter reports byte columns, while
diagnostics use 1-based character columns, so positions are converted here.
"""

from functools import cache

import tree_sitter_bash
import tree_sitter_python
from tree_sitter import Language, Node, Parser, Query, QueryCursor

_GRAMMARS = {"python": tree_sitter_python.language, "bash": tree_sitter_bash.language}


@cache
def parser(language: str) -> Parser:
    return Parser(Language(_GRAMMARS[language]()))


@cache
def query(language: str, source: str) -> Query:
    return Query(Language(_GRAMMARS[language]()), source)


def captures(language: str, query_source: str, node: Node) -> dict[str, list[Node]]:
    """Nodes under `node` captured by the (cached) query, by capture name, in document order.

    py-tree-sitter does not promise an order (with predicates it varies run to run).
    """
    found = QueryCursor(query(language, query_source)).captures(node)
    return {name: sorted(nodes, key=lambda n: (n.start_byte, -n.end_byte)) for name, nodes in found.items()}


def text(node: Node) -> str:
    return node.text.decode("utf-8", "replace")


class ParsedSource:
    """A source text, its syntax tree, and position conversion for diagnostics."""

    def __init__(self, source: str, language: str):
        self.source = source
        self.language = language
        self._data = source.encode()
        self.root = parser(language).parse(self._data).root_node
        self._lines = None if source.isascii() else self._data.split(b"\n")

    def captures(self, query_source: str, node: Node | None = None) -> dict[str, list[Node]]:
        return captures(self.language, query_source, node if node is not None else self.root)

    def position(self, point) -> tuple[int, int]:
        """1-based (line, character column) of a tree-sitter (row, byte column) point."""
        row, column = point
        if self._lines is not None and row < len(self._lines):
            column = len(self._lines[row][:column].decode("utf-8", "replace"))
        return row + 1, column + 1

    def span(self, node: Node) -> dict:
        """The `line`, `column`, `end_line`, `end_column` of a node (end exclusive)."""
        line, column = self.position(node.start_point)
        end_line, end_column = self.position(node.end_point)
        return {"line": line, "column": column, "end_line": end_line, "end_column": end_column}


def problems(node: Node) -> list[Node]:
    """ERROR and MISSING nodes in document order, descending only where errors are."""
    found = []
    if node.is_missing or node.is_error:
        found.append(node)
    if node.has_error:
        for child in node.children:
            found.extend(problems(child))
    return found
