"""Lint gates: ruff (pyflakes + bugbear) on Python tools, ShellCheck on bash tools, with positions."""

import pytest

from toolsmith.core.base.config import ChecksConfig
from toolsmith.core.tools.checks import check_source
from toolsmith.plugins.bash import lint as bash_lint
from toolsmith.plugins.python import lint as python_lint

GUARD = '\n\nif __name__ == "__main__":\n    main()\n'
STRICT = "#!/usr/bin/env bash\nset -euo pipefail\n\n"


def lint(source: str, language: str = "python") -> list[tuple[str, int, int, str]]:
    found = check_source(source, None, language, ChecksConfig())
    return [(d.rule, d.line, d.column, d.severity) for d in found if d.rule[:1].isupper()]


@pytest.mark.parametrize("source, expected", [
    ("def main():\n    print(nme)" + GUARD, [("F821", 2, 11, "error")]),  # undefined name
    ("def main():\n    print('%s %s' % ('a',))" + GUARD, [("F507", 2, 11, "error")]),  # % with too few values
    ("def main():\n    x = 1 is 1\n    print(x)" + GUARD, [("F632", 2, 9, "error")]),
    ("def main(items=[]):\n    print(items)" + GUARD, [("B006", 1, 16, "warning")]),  # mutable default
    ("def main():\n    try:\n        pass\n    except:\n        pass" + GUARD, [("E722", 4, 5, "warning")]),
    ("def main():\n    unused = 1" + GUARD, [("F841", 2, 5, "warning")]),
    ("import os\n\ndef main():\n    pass" + GUARD, [("F401", 1, 8, "warning")]),
])
def test_ruff_findings_with_positions_and_severity(source, expected):
    assert lint(source) == expected


def test_a_finding_carries_ruffs_message_and_a_snippet():
    (found,) = [d for d in check_source("def main():\n    print(nme)" + GUARD, None, "python", ChecksConfig()) if d.rule == "F821"]
    assert "nme" in found.message and (found.end_line, found.end_column) == (2, 14)
    assert found.snippet.endswith("          ^^^")


def test_without_ruff_the_lint_is_a_warning_saying_so(monkeypatch):
    import ruff.__main__

    def missing():
        raise FileNotFoundError

    monkeypatch.setattr(ruff.__main__, "find_ruff_bin", missing)
    (found,) = python_lint.ruff_diagnostics("x = 1\n")
    assert (found.rule, found.severity) == ("lint", "warning") and "ruff is not installed" in found.message


def test_shellcheck_findings_with_positions_and_severity():
    source = STRICT + 'main() {\n  local name="$1"\n  if [ -n $name ]; then\n    echo $name\n  fi\n}\n\nmain "$@"\n'
    assert lint(source, "bash") == [
        ("SC2070", 6, 11, "error"),  # -n on an unquoted variable is always true
        ("SC2086", 6, 11, "warning"),
        ("SC2086", 7, 10, "warning"),  # unquoted: splits on spaces in file names
    ]


def test_without_shellcheck_the_lint_is_a_warning_saying_so(monkeypatch):
    monkeypatch.setattr(bash_lint, "shellcheck_binary", lambda: None)
    (found,) = bash_lint.shellcheck_diagnostics("echo hi\n")
    assert (found.rule, found.severity) == ("lint", "warning") and "shellcheck is not installed" in found.message


def test_cli_check_shows_lint_findings(run_cli, tmp_path):
    path = tmp_path / "tool.py"
    path.write_text("def main(items=[]):\n    print(nme)" + GUARD)
    result = run_cli("check", path)
    assert result.returncode == 1
    assert f"{path}:2:11: F821: Undefined name `nme`" in result.stdout
    assert f"{path}:1:16: B006:" in result.stdout
