"""The built-in Python and bash languages: registration, bash checks, parameter inference."""

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolsmith.core.base.config import ChecksConfig
from toolsmith.core.base.manifest import Manifest, Parameter, now
from toolsmith.core.tools.checks import check_source
from toolsmith.core.tools.languages import get_language, language_for_file
from toolsmith.plugins.bash import checks as bash_checks

CORPUS = Path(__file__).parent / "checks_corpus"
STRICT = "#!/usr/bin/env bash\nset -euo pipefail\n\n"


def manifest(**fields) -> Manifest:
    return Manifest(name="t", description="a test tool", created=now(), updated=now(), **fields)


def findings(source: str, manifest=None, language="bash", lint=False) -> list[tuple[str, int, int, str]]:
    """(rule, line, column, severity) of each finding; ShellCheck's (SC2086...) only with `lint`."""
    found = check_source(source, manifest, language, ChecksConfig())
    return [(d.rule, d.line, d.column, d.severity) for d in found if lint or not d.rule.startswith("SC")]


def test_languages_are_registered_by_name_and_suffix(tmp_path):
    python, bash = get_language("python"), get_language("bash")
    assert (python.source_file, bash.source_file) == ("tool.py", "tool.sh")
    assert language_for_file(Path("x/tool.py")) is not None and language_for_file(Path("a.sh")).name == "bash"
    assert python.command(tmp_path / "tool.py") == ["python3", "-u", str(tmp_path / "tool.py")]  # unbuffered: output shown live
    assert bash.command(tmp_path / "tool.sh") == ["bash", str(tmp_path / "tool.sh")]


def test_language_commands_really_run_a_tool(tmp_path):
    script = tmp_path / "tool.sh"
    script.write_text(STRICT + 'main() {\n  echo "got $1"\n}\n\nmain "$@"\n')
    result = subprocess.run([*get_language("bash").command(script), "x y"], capture_output=True, text=True)
    assert result.stdout == "got x y\n"
    tool = tmp_path / "tool.py"
    tool.write_text("import sys\n\ndef main():\n    print(sys.argv[1:])\n\nif __name__ == '__main__':\n    main()\n")
    result = subprocess.run([*get_language("python").command(tool), "a"], capture_output=True, text=True)
    assert result.stdout == "['a']\n"


# --- bash checks -----------------------------------------------------------------------

BROKEN_BASH = [
    ("missing done", STRICT + 'main() {\n  for f in *; do\n    echo "$f"\n}\n\nmain "$@"\n',
     [("syntax", 7, 1, "error")]),  # bash: unexpected `}'; the for loop is still open
    ("unexpected token", STRICT + 'main() {\n  if true; then echo; fi fi\n}\n\nmain "$@"\n',
     [("syntax", 5, 25, "error")]),
    ("eval", STRICT + 'main() {\n  eval "$1"\n}\n\nmain "$@"\n', [("forbidden-command", 5, 3, "error")]),
    ("sudo in a pipeline", STRICT + 'main() {\n  echo x | sudo tee /etc/motd\n}\n\nmain "$@"\n',
     [("forbidden-command", 5, 12, "error")]),
    ("curl without network", STRICT + 'main() {\n  curl -fsS "$1"\n}\n\nmain "$@"\n',
     [("network-command", 5, 3, "error")]),
    ("wget by path", STRICT + 'main() {\n  /usr/bin/wget -q "$1"\n}\n\nmain "$@"\n',
     [("network-command", 5, 3, "error")]),
    ("/dev/tcp", STRICT + 'main() {\n  echo hi > /dev/tcp/example.com/80\n}\n\nmain "$@"\n',
     [("network-command", 5, 13, "error")]),
    ("source of a variable", STRICT + 'main() {\n  source "$1"\n}\n\nmain "$@"\n',
     [("dynamic-source", 5, 3, "error")]),
    ("bash -c of a variable", STRICT + 'main() {\n  bash -c "$1"\n}\n\nmain "$@"\n',
     [("forbidden-command", 5, 3, "error")]),
    ("no main", STRICT + 'echo "$1"\n', [("missing-main", 1, 1, "error"), ("missing-main-call", 4, 1, "error")]),
    ("main without arguments", STRICT + 'main() {\n  echo "$1"\n}\n\nmain\n',
     [("missing-main-call", 8, 1, "error")]),
    ("no strict mode", 'main() {\n  echo hi\n}\n\nset -e\nmain "$@"\n', [("strict-mode", 1, 1, "warning")]),
]


@pytest.mark.parametrize("source, expected", [case[1:] for case in BROKEN_BASH],
                         ids=[case[0] for case in BROKEN_BASH])
def test_broken_bash_is_reported_at_the_right_place(source, expected):
    assert findings(source) == expected


def test_bash_syntax_message_comes_from_bash():
    [d] = check_source(STRICT + "main() {\n  if true; then echo; fi fi\n}\n", None, "bash", ChecksConfig())
    assert d.message == "syntax error near unexpected token `fi'"


def test_strict_mode_names_what_is_missing():
    [d] = check_source('main() {\n  :\n}\n\nset -eu\nmain "$@"\n', None, "bash", ChecksConfig())
    assert "(missing pipefail)" in d.message


def test_what_bash_accepts_but_tree_sitter_cannot_parse_is_a_warning():
    source = STRICT + 'main() {\n  echo $(( 1 + ))\n}\n\nmain "$@"\n'
    [(rule, line, _, severity)] = findings(source)
    assert (rule, line, severity) == ("syntax", 5, "warning")


def test_without_bash_tree_sitter_finds_syntax_errors(monkeypatch):
    monkeypatch.setattr(bash_checks.shutil, "which", lambda name: None)
    source = STRICT + 'main() {\n  for f in *; do\n    echo "$f"\n}\n\nmain "$@"\n'
    found = check_source(source, None, "bash", ChecksConfig())
    assert [(d.rule, d.line, d.column, d.severity) for d in found] == [("syntax", 10, 1, "error")]
    assert found[0].message == "missing `done` (to close what starts on line 5)"


@pytest.mark.parametrize("name, fields", [
    ("resize_logs.sh", {}),
    ("count_lines.sh", {}),
    ("fetch_page.sh", {"network": True}),
])
def test_valid_bash_tools_have_no_findings(name, fields):
    assert findings((CORPUS / "bash" / name).read_text(), manifest(**fields)) == []


def test_network_commands_need_network_in_the_manifest():
    source = (CORPUS / "bash" / "fetch_page.sh").read_text()
    assert findings(source, manifest()) == [("network-command", 10, 3, "error")]


FRAGMENTS = {
    "python": ["def main(", "):", "\n", "    ", "import os", "from . import x", "eval(", "'é'", "(", ")", "[",
               "if __name__ == '__main__':", "main()", "subprocess.run(x, shell=True)", "getattr(os, n)", "#", "\t"],
    "bash": ["main() {", "}", "\n", "  ", 'main "$@"', "set -euo pipefail", "eval", "curl x", "$((", "))", '"',
             "'", "if true; then", "fi", "for x in a; do", "done", "source $f", "é", "\\"],
}


@pytest.mark.parametrize("language", ["python", "bash"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_checks_never_crash_and_point_inside_the_source(language, data):
    pieces = st.lists(st.sampled_from(FRAGMENTS[language]), max_size=25).map("".join)
    source = data.draw(st.one_of(pieces, st.text(max_size=80)))
    lines = source.splitlines() or [""]
    for d in check_source(source, None, language, ChecksConfig()):
        assert d.severity in ("error", "warning")
        assert 1 <= d.line <= len(lines) + 1 and d.column >= 1, d


# --- parameter inference -------------------------------------------------------------

def python_parameters(name: str) -> list[Parameter]:
    return get_language("python").infer_parameters((CORPUS / "python" / name).read_text())


def test_python_parameters_from_argparse():
    assert python_parameters("rename_photos.py") == [
        Parameter(name="folder", kind="dir", help="folder with the photos", access="read", positional=True,
                  required=True),
        Parameter(name="dry-run", kind="flag", help="only print what would change"),
    ]
    assert python_parameters("csv_to_json.py") == [
        Parameter(name="input", kind="file", help="CSV file to read", access="read", positional=True,
                  required=True),
        Parameter(name="output", kind="file", help="JSON file to write (default: stdout)", access="write"),
        Parameter(name="delimiter", kind="string", help="field separator", default=","),
        Parameter(name="indent", kind="int", default=2),
    ]


def test_python_parameters_multiple_optional_and_counts():
    assert python_parameters("git_summary.py") == [
        Parameter(name="repo", kind="string", help="repository folder", positional=True, default="."),
        Parameter(name="since", kind="string", default="1 week ago"),
    ]
    assert python_parameters("count_log_errors.py") == [
        Parameter(name="logs", kind="string", help="log files to read", positional=True, required=True,
                  multiple=True),
        Parameter(name="top", kind="int", default=5),
    ]
    assert python_parameters("backup_rotate.py") == [
        Parameter(name="file", kind="file", help="file to back up", access="read", positional=True, required=True),
        Parameter(name="backup_dir", kind="dir", help="destination folder for the copies", access="write",
                  positional=True, required=True),
        Parameter(name="keep", kind="int", default=5),
        Parameter(name="verbose", kind="int", default=0),
    ]


def test_python_parameters_file_types_and_short_options():
    source = """
import argparse
from argparse import FileType

def main():
    p = argparse.ArgumentParser()
    p.add_argument("-i", dest="source", type=argparse.FileType("rb"), help="data")
    p.add_argument("report", type=FileType("w"), help="where the report goes")
    p.add_argument("-x", action="append", help="exclude pattern")
    p.add_argument("--no-color", action="store_false", dest="color")
    p.add_argument("--version", action="version", version="1.0")
    p.add_argument("--mode", choices=["fast", "slow"], required=True)
    p.add_argument("--target", type=Path, help="folder to write into")
    p.parse_args()
"""
    assert get_language("python").infer_parameters(source) == [
        Parameter(name="i", kind="file", help="data", access="read"),
        Parameter(name="report", kind="file", help="where the report goes", access="write", positional=True,
                  required=True),
        Parameter(name="x", kind="string", help="exclude pattern", multiple=True),
        Parameter(name="no-color", kind="flag"),
        Parameter(name="mode", kind="string", required=True),
        Parameter(name="target", kind="dir", help="folder to write into", access="write"),
    ]


def test_python_parameters_of_a_script_without_argparse():
    assert get_language("python").infer_parameters("import sys\nprint(sys.argv)\n") == []


def test_bash_parameters_from_positionals_and_getopts():
    bash = get_language("bash")
    assert bash.infer_parameters((CORPUS / "bash" / "resize_logs.sh").read_text()) == [
        Parameter(name="log_dir", kind="dir", access="read", positional=True, required=True),
        Parameter(name="days", kind="string", positional=True, default="7"),
    ]
    assert bash.infer_parameters((CORPUS / "bash" / "count_lines.sh").read_text()) == [
        Parameter(name="folder", kind="dir", access="read", positional=True, default="."),
        Parameter(name="v", kind="flag", help="sets $verbose"),
        Parameter(name="p", kind="string", help="sets $pattern"),
        Parameter(name="o", kind="path", help="sets $output", access="write"),
    ]
    assert bash.infer_parameters((CORPUS / "bash" / "fetch_page.sh").read_text()) == [
        Parameter(name="url", kind="string", positional=True, required=True),
        Parameter(name="output_file", kind="file", access="write", positional=True, required=True),
    ]
