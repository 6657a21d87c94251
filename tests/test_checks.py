"""Source checks for Python tools, reading sources, plugin checks and `toolsmith check`."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolsmith.core import hookimpl
from toolsmith.core.base.config import ChecksConfig
from toolsmith.core.base.diagnostics import Diagnostic
from toolsmith.core.base.manifest import Manifest, encode, now
from toolsmith.core.base.plugin_host import PluginError, load_plugins, pm
from toolsmith.core.frontends.cli import cli
from toolsmith.core.tools.checks import SourceError, check_source, decode_source, read_source
from toolsmith.core.tools.languages import UnknownLanguage

CORPUS = Path(__file__).parent / "checks_corpus"
LINT_RULE = re.compile(r"[A-Z]+[0-9]+")  # ruff's codes
GUARD = '\n\nif __name__ == "__main__":\n    main()\n'


def manifest(**fields) -> Manifest:
    return Manifest(name="t", description="a test tool", created=now(), updated=now(), **fields)


def findings(source: str, manifest=None, settings=None, language="python", lint=False) -> list[tuple[str, int, int]]:
    """(rule, line, column) of each finding; ruff's (F401, B006...) only with `lint`."""
    found = check_source(source, manifest, language, settings or ChecksConfig())
    return [(d.rule, d.line, d.column) for d in found if lint or not LINT_RULE.fullmatch(d.rule)]


# Syntax positions are the ones Python 3.11 itself reports (SyntaxError lineno/offset).
BROKEN_PYTHON = [
    ("unclosed paren", "def main():\n    print('hi'\n\n\nif __name__ == '__main__':\n    main()\n",
     [("syntax", 2, 10)]),
    ("unexpected indent", "def main():\n    x = 1\n      y = 2\n", [("syntax", 3, 6)]),
    ("missing colon", "def main()\n    pass\n", [("syntax", 1, 11)]),
    ("assign to call", "def main():\n    len(x) = 3\n", [("syntax", 2, 5)]),
    ("bad dedent", "def main():\n        x = 1\n    y = 2\n", [("syntax", 3, 10)]),
    ("mismatched bracket", "def main():\n    items = [1, 2}\n", [("syntax", 2, 18)]),
    ("unterminated string", "def main():\n    print('oops)\n", [("syntax", 2, 11)]),
    ("unclosed after accents", "def main():\n    naïve = 'é' + (1,\n", [("syntax", 2, 19)]),
    ("missing main", "import sys\n\ndef run():\n    print(sys.argv)" + GUARD.replace("main()", "run()"),
     [("missing-main", 1, 1), ("missing-main-guard", 6, 1)]),
    ("missing guard", "def main():\n    print('hi')\n\n\nmain()\n", [("missing-main-guard", 5, 1)]),
    ("guard without main", 'def main():\n    pass\n\nif __name__ == "__main__":\n    print("hi")\n',
     [("missing-main-guard", 4, 1)]),
    ("third-party import", "import requests\n\ndef main():\n    pass" + GUARD,
     [("forbidden-import", 1, 8), ("network-import", 1, 8)]),
    ("from third-party", "from yaml import safe_load\n\ndef main():\n    pass" + GUARD,
     [("forbidden-import", 1, 6)]),
    ("relative import", "from . import helpers\n\ndef main():\n    pass" + GUARD, [("forbidden-import", 1, 6)]),
    ("eval", "def main():\n    print(eval(input()))" + GUARD, [("forbidden-call", 2, 11)]),
    ("exec", "def main():\n    exec('x = 1')" + GUARD, [("forbidden-call", 2, 5)]),
    ("__import__", "def main():\n    os = __import__('os')" + GUARD, [("forbidden-call", 2, 10)]),
    ("compile builtin", "def main():\n    code = compile('1', 'x', 'eval')" + GUARD, [("forbidden-call", 2, 12)]),
    ("builtins.eval", "import builtins\n\ndef main():\n    builtins.eval('1')" + GUARD, [("forbidden-call", 4, 5)]),
    ("os.system via alias", "import os as o\n\ndef main():\n    o.system('ls')" + GUARD, [("forbidden-call", 4, 5)]),
    ("os.system imported", "from os import system\n\ndef main():\n    system('ls')" + GUARD,
     [("forbidden-call", 4, 5)]),
    ("os.popen renamed", "from os import popen as run\n\ndef main():\n    run('ls').read()" + GUARD,
     [("forbidden-call", 4, 5)]),
    ("getattr literal", "import os\n\ndef main():\n    getattr(os, 'system')('ls')" + GUARD,
     [("forbidden-call", 4, 17)]),
    ("shell=True", "import subprocess\n\ndef main():\n    subprocess.run('ls -l', shell=True)" + GUARD,
     [("shell-true", 4, 5)]),
    ("shell from a variable", "from subprocess import Popen\n\ndef main(use_shell=True):\n"
     "    Popen(['ls'], shell=use_shell)" + GUARD, [("shell-true", 4, 5)]),
    ("getoutput", "import subprocess as sp\n\ndef main():\n    print(sp.getoutput('ls'))" + GUARD,
     [("shell-true", 4, 11)]),
    ("sh -c argv", "import subprocess\n\ndef main(cmd):\n    subprocess.run(['/bin/sh', '-c', cmd])" + GUARD,
     [("shell-true", 4, 5)]),
    ("__builtins__.exec", "def main():\n    __builtins__.exec('1')" + GUARD, [("forbidden-call", 2, 5)]),
    ("asyncio connection", "import asyncio\n\nasync def main():\n    await asyncio.open_connection('x', 80)" + GUARD,
     [("network-call", 4, 11)]),
    ("socket without network", "import socket\n\ndef main():\n    socket.create_connection(('x', 80))" + GUARD,
     [("network-import", 1, 8)]),
    ("urllib.request from-import", "from urllib import parse, request\n\ndef main():\n    pass" + GUARD,
     [("network-import", 1, 6)]),
    ("import_module literal", "import importlib\n\ndef main():\n    importlib.import_module('http.client')" + GUARD,
     [("network-import", 4, 29)]),
    ("eval after accents", "def main():\n    s = 'ééé'; eval(s)" + GUARD, [("forbidden-call", 2, 16)]),
]


@pytest.mark.parametrize("source, expected", [case[1:] for case in BROKEN_PYTHON],
                         ids=[case[0] for case in BROKEN_PYTHON])
def test_broken_python_is_reported_at_the_right_place(source, expected):
    assert findings(source) == expected


def test_syntax_error_carries_pythons_message_and_a_snippet():
    [d] = check_source("def main():\n    print('hi'\n", None, "python", ChecksConfig())
    assert d.message == "'(' was never closed"
    assert d.severity == "error"
    assert d.snippet == "   2 |     print('hi'\n                ^"


def test_syntax_error_hides_structure_findings():
    # No def main and no guard either, but the model should fix the syntax first.
    assert findings("x = (1,\n") == [("syntax", 1, 5)]


def test_dynamic_access_is_a_warning():
    source = "import importlib, os\n\ndef main(name):\n    getattr(os, name)()\n" \
             "    importlib.import_module(name)" + GUARD
    found = check_source(source, None, "python", ChecksConfig())
    assert [(d.rule, d.line, d.column, d.severity) for d in found] == [
        ("dynamic-access", 4, 17, "warning"),
        ("dynamic-import", 5, 29, "warning"),
    ]


def test_syntax_warning_is_reported_as_a_warning():
    source = "import re\n\ndef main():\n    return re.findall('\\d+', 'a1')" + GUARD
    found = check_source(source, None, "python", ChecksConfig())
    assert [(d.rule, d.line, d.severity) for d in found] == [("syntax-warning", 4, "warning")]
    assert "escape sequence" in found[0].message


def test_a_tools_own_function_named_like_a_builtin_is_not_flagged():
    source = "def compile(pattern):\n    return pattern\n\ndef main():\n    compile('x')" + GUARD
    assert findings(source) == []


def test_shell_false_and_other_modules_run_are_fine():
    source = ("import subprocess\n\ndef main():\n    subprocess.run(['ls'], shell=False)\n"
              "    subprocess.check_output(['git', 'status'])" + GUARD)
    assert findings(source) == []


VALID_PYTHON = {
    "rename_photos.py": {},
    "csv_to_json.py": {},
    "find_duplicates.py": {},
    "zip_folder.py": {},
    "git_summary.py": {},
    "make_thumbnails.py": {"requires": ["PIL"]},
    "fetch_headlines.py": {"network": True},
    "disk_report.py": {},
    "count_log_errors.py": {},
    "backup_rotate.py": {},
    "word_frequencies.py": {},
    "json_query.py": {},
}


@pytest.mark.parametrize("name", sorted(VALID_PYTHON))
def test_valid_python_tools_have_no_findings(name):
    source = (CORPUS / "python" / name).read_text(encoding="utf-8")
    assert findings(source, manifest(**VALID_PYTHON[name])) == []


def test_requires_and_network_are_what_make_those_tools_pass():
    thumbnails = (CORPUS / "python" / "make_thumbnails.py").read_text()
    headlines = (CORPUS / "python" / "fetch_headlines.py").read_text()
    assert findings(thumbnails, manifest()) == [("forbidden-import", 6, 6)]
    assert findings(headlines, manifest()) == [("network-import", 4, 8)]
    # Listing a network package in requires does not grant network access.
    source = "import requests\n\ndef main():\n    pass" + GUARD
    assert findings(source, manifest(requires=["requests"])) == [("network-import", 1, 8)]
    assert findings(source, manifest(requires=["requests"], network=True)) == []


def test_settings_change_the_policy():
    source = "import yaml\nimport shutil\nimport subprocess\n\ndef main():\n    shutil.rmtree('x')\n" \
             "    subprocess.run('ls', shell=True)" + GUARD
    assert findings(source) == [("forbidden-import", 1, 8), ("shell-true", 7, 5)]
    relaxed = ChecksConfig(allowed_imports=["yaml"], forbidden_calls=["shutil.rmtree"], forbid_shell=False)
    assert findings(source, settings=relaxed) == [("forbidden-call", 6, 5)]


def test_settings_default_to_the_user_config(monkeypatch):
    monkeypatch.setenv("TOOLSMITH_CHECKS__ALLOWED_IMPORTS", "yaml,toml")
    source = "import yaml\n\ndef main():\n    yaml.safe_load('')" + GUARD
    assert check_source(source, None, "python") == []


class TodoChecker:
    """A third-party check: no TODO left in a tool."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def toolsmith_check_source(self, source, manifest, language):
        self.seen.append((manifest, language))
        return [
            Diagnostic(rule="todo", message="unfinished work", line=number, column=line.index("TODO") + 1,
                       severity="warning")
            for number, line in enumerate(source.splitlines(), 1) if "TODO" in line
        ]


def test_plugin_diagnostics_are_merged_in_position_order():
    load_plugins()
    checker = TodoChecker()
    pm.register(checker, name="todo-checker")
    try:
        tool = manifest()
        source = "def main():\n    eval('1')  # TODO: remove\n    pass  # TODO" + GUARD
        found = check_source(source, tool, "python", ChecksConfig())
    finally:
        pm.unregister(name="todo-checker")
    assert [(d.rule, d.line, d.column) for d in found] == [
        ("forbidden-call", 2, 5), ("todo", 2, 18), ("todo", 3, 13),
    ]
    assert checker.seen == [(tool, "python")]


class SloppyChecker:
    @hookimpl
    def toolsmith_check_source(self, source):
        return ["line 1 looks odd"]


def test_a_plugin_returning_something_else_is_named_as_the_problem():
    load_plugins()
    pm.register(SloppyChecker(), name="sloppy")
    try:
        with pytest.raises(PluginError, match="returned 'line 1 looks odd', not a Diagnostic"):
            check_source("def main():\n    pass" + GUARD, None, "python", ChecksConfig())
    finally:
        pm.unregister(name="sloppy")


def test_an_unknown_language_is_a_clear_error():
    with pytest.raises(UnknownLanguage, match=r"unknown tool language 'ruby' \(known: bash, python"):
        check_source("puts 1\n", None, "ruby", ChecksConfig())


# --- reading sources ---------------------------------------------------------------

def test_read_source_reads_utf8_and_drops_a_bom(tmp_path):
    path = tmp_path / "tool.py"
    path.write_bytes("\ufeffprint('café')\n".encode())
    assert read_source(path, 1000) == "print('café')\n"


def test_read_source_rejects_non_utf8_naming_the_offset(tmp_path):
    path = tmp_path / "tool.py"
    path.write_bytes(b"# ok\nprint('caf\xe9')\n")
    with pytest.raises(SourceError, match=r"not UTF-8 text \(byte 0xe9 at offset 15, line 2\)"):
        read_source(path, 1000)


def test_read_source_rejects_binary_files(tmp_path):
    path = tmp_path / "tool.py"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    with pytest.raises(SourceError, match=r"binary data \(NUL byte at offset 7\)"):
        read_source(path, 1000)


def test_read_source_refuses_a_large_file_by_its_size(tmp_path):
    path = tmp_path / "tool.py"
    with path.open("wb") as f:
        f.truncate(10_000_000)  # all NUL bytes: reading it would fail differently
    with pytest.raises(SourceError, match=r"10000000 bytes is over the 1000000-byte limit"):
        read_source(path, 1_000_000)


def test_read_source_missing_file_and_folder(tmp_path):
    with pytest.raises(SourceError, match=r"missing\.py: no such file$"):
        read_source(tmp_path / "missing.py", 1000)
    with pytest.raises(SourceError, match="is a folder"):
        read_source(tmp_path, 1000)


def test_decode_source_names_where_the_bytes_came_from():
    with pytest.raises(SourceError, match=r"^model reply: 12 bytes is over the 10-byte limit"):
        decode_source(b"print('hi')\n", "model reply", 10)


# --- toolsmith check -------------------------------------------------------------------

def run_check(*args):
    return CliRunner().invoke(cli, ["check", *map(str, args)])


def test_cli_clean_tool_exits_0(tmp_path):
    path = tmp_path / "tool.py"
    path.write_text((CORPUS / "python" / "csv_to_json.py").read_text())
    result = run_check(path)
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_cli_errors_print_one_line_each_and_exit_1(tmp_path):
    path = tmp_path / "tool.py"
    path.write_text("import os\n\ndef main():\n    os.system('ls')\n    print('x'\n")
    result = run_check(path)
    assert result.exit_code == 1
    assert result.output == f"{path}:5:10: syntax: '(' was never closed\n"


def test_cli_warnings_alone_exit_0(tmp_path):
    path = tmp_path / "tool.sh"
    path.write_text('main() {\n  echo hi\n}\n\nmain "$@"\n')
    result = run_check(path)
    assert result.exit_code == 0
    assert result.output.startswith(f"{path}:1:1: strict-mode: no `set -euo pipefail`")
    assert result.output.rstrip().endswith("(warning)")


def test_cli_json(tmp_path):
    path = tmp_path / "tool.py"
    path.write_text("import socket\n\ndef main():\n    eval('1')\n")
    result = run_check(path, "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["language"] == "python" and report["manifest"] is None
    assert (report["errors"], report["warnings"]) == (3, 1)
    assert [(d["rule"], d["line"], d["column"], d["severity"]) for d in report["diagnostics"]] == [
        ("network-import", 1, 8, "error"), ("F401", 1, 8, "warning"), ("missing-main-guard", 4, 1, "error"),
        ("forbidden-call", 4, 5, "error"),
    ]
    assert report["diagnostics"][3]["snippet"] == "   4 |     eval('1')\n           ^^^^"


def test_cli_uses_the_manifest_beside_the_source_or_given(tmp_path):
    folder = tmp_path / "headlines"
    folder.mkdir()
    source = folder / "tool.py"
    source.write_text((CORPUS / "python" / "fetch_headlines.py").read_text())
    assert run_check(source).exit_code == 1  # no manifest: no network
    (tmp_path / "net.toml").write_bytes(encode(manifest(network=True)))
    assert run_check(source, "--manifest", tmp_path / "net.toml").exit_code == 0
    (folder / "tool.toml").write_bytes(encode(manifest(network=True)))
    assert run_check(source).exit_code == 0
    assert run_check(folder).exit_code == 0  # a tool folder: tool.toml names the language
    report = json.loads(run_check(folder, "--json").output)
    assert report["manifest"] == str(folder / "tool.toml")


def test_cli_bad_input_is_one_line_error(tmp_path):
    toolsmith = Path(sys.executable).with_name("toolsmith")
    env = {**os.environ, "TOOLSMITH_HOME": str(tmp_path / "home")}
    missing = subprocess.run([toolsmith, "check", tmp_path / "nope.py"], capture_output=True, text=True, env=env)
    assert (missing.returncode, missing.stderr) == (1, f"error: {tmp_path / 'nope.py'}: no such file\n")
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello\n")
    result = subprocess.run([toolsmith, "check", unknown], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: no tool language handles '.txt' files")
    broken = tmp_path / "tool.py"
    broken.write_text("def main(:\n")
    result = subprocess.run([toolsmith, "check", broken], capture_output=True, text=True, env=env)
    assert (result.returncode, result.stdout) == (1, f"{broken}:1:10: syntax: invalid syntax\n")


def test_cli_on_a_terminal_shows_the_source_line_and_a_summary(tmp_path, monkeypatch):
    monkeypatch.setattr("toolsmith.core.frontends.cli.check.is_terminal", lambda: True)
    path = tmp_path / "tool.py"
    path.write_text("def main():\n    eval('1')" + GUARD)
    result = run_check(path)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{path}:2:5: error[forbidden-call]: call to eval() is not allowed in a tool; "
        "parse data with json or ast.literal_eval instead",
        "   2 |     eval('1')",
        "           ^^^^",
        "1 error(s), 0 warning(s)",
    ]


def test_check_of_a_missing_path_names_the_path(run_cli, tmp_path):
    missing = tmp_path / "does" / "not" / "exist"
    result = run_cli("check", missing)
    assert (result.returncode, result.stderr) == (1, f"error: {missing}: no such file\n")
