"""Diagnostics: what a check found, in a shape a person and a model can both read."""

import msgspec


class Diagnostic(msgspec.Struct, kw_only=True, frozen=True):
    """One problem in a tool's source. Lines and columns are 1-based."""

    rule: str
    message: str
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None
    severity: str = "error"
    snippet: str = ""

    def render(self) -> str:
        """`line:col: rule: message` followed by the snippet, as fed back to a model."""
        head = f"{self.line}:{self.column}: {self.rule}: {self.message}"
        return f"{head}\n{self.snippet}" if self.snippet else head


def snippet(source: str, line: int, column: int, width: int = 1) -> str:
    """The source line with a caret marker under the column (both 1-based)."""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1]
    prefix = f"{line:>4} | "
    pad = "".join(ch if ch == "\t" else " " for ch in text[: max(column - 1, 0)])
    return f"{prefix}{text}\n{' ' * len(prefix)}{pad}{'^' * max(width, 1)}"
