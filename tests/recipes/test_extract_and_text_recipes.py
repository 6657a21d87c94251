"""Extraction and plain-text recipes run as real programs on files made here."""

import json

from recipe_helpers import snapshot


def test_extract_emails_from_a_folder_once_each(tmp_path, run_tool):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("Write to ann@example.com or Bob.Smith+news@mail.example.org.\nann@example.com again")
    (tmp_path / "notes" / "b.md").write_text("<carl@test.io>, not an address: user@localhost or @handle")
    (tmp_path / "notes" / "c.bin").write_bytes(b"\0\0eve@example.com")
    found = run_tool("extract-emails", tmp_path / "notes")
    assert found.stdout.splitlines() == ["ann@example.com", "Bob.Smith+news@mail.example.org", "carl@test.io"]
    run_tool("extract-emails", tmp_path / "notes" / "a.txt", "--output", tmp_path / "emails.txt")
    assert (tmp_path / "emails.txt").read_text() == "ann@example.com\nBob.Smith+news@mail.example.org\n"


def test_extract_urls_trims_punctuation_and_filters_by_domain(tmp_path, run_tool):
    (tmp_path / "page.txt").write_text(
        "See https://example.com/a?b=1. Also (www.test.org/x) and http://docs.example.com/wiki/Foo_(bar), end."
    )
    found = run_tool("extract-urls", tmp_path / "page.txt")
    assert found.stdout.splitlines() == ["https://example.com/a?b=1", "www.test.org/x", "http://docs.example.com/wiki/Foo_(bar)"]
    only = run_tool("extract-urls", tmp_path / "page.txt", "--domain", "example.com")
    assert only.stdout.splitlines() == ["https://example.com/a?b=1", "http://docs.example.com/wiki/Foo_(bar)"]


def test_extract_phone_numbers_skips_dates_and_ids(tmp_path, run_tool):
    (tmp_path / "contacts.txt").write_text(
        "Call +44 20 7946 0958 or (555) 123-4567 (same as 555.123.4567).\nOn 2024-01-05, order 12345678901234567890, room 12."
    )
    found = run_tool("extract-phone-numbers", tmp_path / "contacts.txt")
    assert found.stdout.splitlines() == ["+44 20 7946 0958", "(555) 123-4567"]


def test_sort_lines_text_number_reverse_unique(tmp_path, run_tool):
    source = tmp_path / "list.txt"
    source.write_text("pear\nApple\nbanana\napple\npear\n")
    before = snapshot(tmp_path)
    run_tool("sort-lines", source, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("sort-lines", source)
    assert source.read_text() == "Apple\napple\nbanana\npear\npear\n"
    (tmp_path / "scores.txt").write_text("b 10\na 9\nc 100\n")
    run_tool("sort-lines", tmp_path / "scores.txt", "--by", "number", "--reverse", "--output", tmp_path / "sorted.txt")
    assert (tmp_path / "sorted.txt").read_text() == "c 100\nb 10\na 9\n"
    run_tool("sort-lines", source, "--unique")
    assert source.read_text() == "Apple\napple\nbanana\npear\n"


def test_strip_trailing_whitespace_keeps_line_endings(tmp_path, run_tool):
    (tmp_path / "a.py").write_bytes(b"x = 1  \r\ny = 2\t\nz = 3 ")
    (tmp_path / "b.txt").write_bytes(b"clean\n")
    (tmp_path / "c.bin").write_bytes(b"\0  \n")
    before = snapshot(tmp_path)
    assert "would clean 3 line(s)" in run_tool("strip-trailing-whitespace", tmp_path, "--dry-run").stdout
    assert snapshot(tmp_path) == before
    run_tool("strip-trailing-whitespace", tmp_path, "--match", "*.py")
    assert (tmp_path / "a.py").read_bytes() == b"x = 1\r\ny = 2\nz = 3"
    assert (tmp_path / "c.bin").read_bytes() == b"\0  \n"


def test_tabs_to_spaces_and_back(tmp_path, run_tool):
    code = tmp_path / "code.py"
    code.write_text("def f():\n\tif x:\n\t\treturn 1\t# one\n")
    run_tool("tabs-to-spaces", code, "--leading-only")
    assert code.read_text() == "def f():\n    if x:\n        return 1\t# one\n"
    run_tool("spaces-to-tabs", code)
    assert code.read_text() == "def f():\n\tif x:\n\t\treturn 1\t# one\n"
    run_tool("tabs-to-spaces", tmp_path, "--width", "2")
    assert code.read_text() == "def f():\n  if x:\n    return 1  # one\n"
    bad = run_tool("tabs-to-spaces", code, "--width", "0", check=False)
    assert bad.returncode == 2 and "--width" in bad.stderr


def test_find_files_containing_text(tmp_path, run_tool):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("nothing here\n")
    (tmp_path / "sub" / "b.txt").write_text("first\nthe Invoice for May\n")
    (tmp_path / "c.log").write_text("invoice 7\n")
    found = run_tool("find-files-containing-text", tmp_path, "--text", "invoice", "--ignore-case")
    assert found.stdout.splitlines() == ["c.log:1: invoice 7", "sub/b.txt:2: the Invoice for May"]
    names = run_tool("find-files-containing-text", tmp_path, "--text", r"Inv\w+", "--regex", "--names-only", "--match", "*.txt")
    assert names.stdout.splitlines() == ["sub/b.txt"]


def test_pretty_print_json_and_compact(tmp_path, run_tool):
    (tmp_path / "data.json").write_text('{"b":1,"a":[1,2],"s":"é"}')
    (tmp_path / "broken.json").write_text('{"a": 1,}')
    before = snapshot(tmp_path)
    run_tool("pretty-print-json", tmp_path, "--dry-run", check=False)
    assert snapshot(tmp_path) == before
    result = run_tool("pretty-print-json", tmp_path, "--sort-keys", check=False)
    assert result.returncode == 1 and "broken.json: not valid JSON" in result.stderr and "line 1" in result.stderr
    assert (tmp_path / "data.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1,\n  "s": "é"\n}\n'
    assert (tmp_path / "broken.json").read_text() == '{"a": 1,}'
    run_tool("pretty-print-json", tmp_path / "data.json", "--compact")
    assert json.loads((tmp_path / "data.json").read_text()) == {"a": [1, 2], "b": 1, "s": "é"}
    assert (tmp_path / "data.json").read_text() == '{"a":[1,2],"b":1,"s":"é"}\n'


def test_validate_json_reports_where_files_break(tmp_path, run_tool):
    (tmp_path / "good.json").write_text('{"a": 1}')
    (tmp_path / "bad.json").write_text('{\n  "a": 1\n  "b": 2\n}')
    (tmp_path / "events.jsonl").write_text('{"n": 1}\n{"n": \n')
    result = run_tool("validate-json", tmp_path, check=False)
    assert result.returncode == 1
    assert "good.json: ok" in result.stdout and "bad.json: INVALID: Expecting ',' delimiter at line 3, column 3" in result.stdout
    assert "events.jsonl" not in result.stdout
    lines = run_tool("validate-json", tmp_path, "--lines", check=False)
    assert "events.jsonl: INVALID: Expecting value at line 2" in lines.stdout
    assert run_tool("validate-json", tmp_path / "good.json").stdout.startswith(f"{tmp_path / 'good.json'}: ok")
