"""Text and data recipes (CSV, JSON, lines, words) run as real programs."""

import csv
import json

from recipe_helpers import snapshot


def test_csv_to_json_keeps_text_unless_asked(tmp_path, run_tool):
    source = tmp_path / "people.csv"
    source.write_text("name;zip;age\nAda;00501;36\nBob;10115;4.5\n", encoding="utf-8")
    printed = run_tool("csv-to-json", source)
    assert json.loads(printed.stdout) == [{"name": "Ada", "zip": "00501", "age": "36"}, {"name": "Bob", "zip": "10115", "age": "4.5"}]
    out = tmp_path / "people.json"
    run_tool("csv-to-json", source, out, "--dry-run")
    assert not out.exists()
    run_tool("csv-to-json", source, out, "--infer-types")
    assert json.loads(out.read_text()) == [{"name": "Ada", "zip": "00501", "age": 36}, {"name": "Bob", "zip": 10115, "age": 4.5}]


def test_csv_to_json_saves_beside_the_csv(tmp_path, run_tool):
    """'into a json file': NAME.json beside the input, never over an existing one."""
    source = tmp_path / "sales.csv"
    source.write_text("item,n\npen,3\n", encoding="utf-8")
    saved = run_tool("csv-to-json", source, "--save")
    assert json.loads((tmp_path / "sales.json").read_text()) == [{"item": "pen", "n": "3"}] and saved.stdout.startswith("wrote 1 row")
    again = run_tool("csv-to-json", source, "--save", check=False)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_json_to_csv_unions_columns_and_keeps_nested_values(tmp_path, run_tool):
    source = tmp_path / "records.json"
    source.write_text(json.dumps({"items": [{"id": 1, "tags": ["a", "b"]}, {"id": 2, "note": "x, y", "ok": True}]}))
    out = tmp_path / "records.csv"
    run_tool("json-to-csv", source, out, "--dry-run")
    assert not out.exists()
    run_tool("json-to-csv", source, out)
    with out.open(newline="") as f:
        assert list(csv.reader(f)) == [["id", "tags", "note", "ok"], ["1", '["a", "b"]', "", ""], ["2", "", "x, y", "true"]]
    lines = tmp_path / "records.jsonl"
    lines.write_text('{"a": 1}\n{"b": 2}\n')
    assert run_tool("json-to-csv", lines).stdout == "a,b\n1,\n,2\n"
    bad = tmp_path / "bad.json"
    bad.write_text('"just a string"')
    refused = run_tool("json-to-csv", bad, check=False)
    assert refused.returncode == 2 and "list of objects" in refused.stderr


def test_merge_csv_files_by_header(tmp_path, run_tool):
    folder = tmp_path / "months"
    folder.mkdir()
    (folder / "jan.csv").write_text("date,amount\n2024-01-03,10\n")
    (folder / "feb.csv").write_text("amount,date,note\n20,2024-02-01,late\n")
    out = tmp_path / "all.csv"
    run_tool("merge-csv-files", folder, "--output", out, "--dry-run")
    assert not out.exists()
    run_tool("merge-csv-files", folder, "--output", out, "--add-source")
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {"amount": "20", "date": "2024-02-01", "note": "late", "source_file": "feb.csv"},
        {"amount": "10", "date": "2024-01-03", "note": "", "source_file": "jan.csv"},
    ]


def test_count_words(tmp_path, run_tool):
    (tmp_path / "essay.txt").write_text("hello world\nsecond line here\n")
    (tmp_path / "notes.md").write_text("one\n")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    result = run_tool("count-words", tmp_path)
    assert "         2          5         29  " in result.stdout
    assert "         3          6         33  total (2 file(s))" in result.stdout
    assert "photo.jpg" not in result.stdout


def test_dedupe_lines_keeps_order(tmp_path, run_tool):
    emails = tmp_path / "emails.txt"
    emails.write_text("ann@x.org\nbob@y.org\nann@x.org\n\nBob@y.org \n\n")
    before = snapshot(tmp_path)
    run_tool("dedupe-lines", emails, "--dry-run")
    assert snapshot(tmp_path) == before
    copy = tmp_path / "unique.txt"
    run_tool("dedupe-lines", emails, "--output", copy)
    assert copy.read_text() == "ann@x.org\nbob@y.org\n\nBob@y.org \n"
    run_tool("dedupe-lines", emails, "--ignore-case")
    assert emails.read_text() == "ann@x.org\nbob@y.org\n\n"


def test_find_and_replace_skips_binary_files(tmp_path, run_tool):
    (tmp_path / "docs").mkdir()
    letter = tmp_path / "docs" / "letter.txt"
    letter.write_text("Acme Corp thanks you. acme corp!\n")
    blob = tmp_path / "logo.bin"
    blob.write_bytes(b"Acme Corp\0\x01")
    (tmp_path / "link.txt").symlink_to("docs/letter.txt")
    before = snapshot(tmp_path)
    preview = run_tool("find-and-replace", tmp_path, "--find", "Acme Corp", "--replace", "Zenith Ltd", "--dry-run")
    assert snapshot(tmp_path) == before and "would replace 1 in" in preview.stdout
    run_tool("find-and-replace", tmp_path, "--find", "Acme Corp", "--replace", "Zenith Ltd", "--ignore-case")
    assert letter.read_text() == "Zenith Ltd thanks you. Zenith Ltd!\n"
    assert blob.read_bytes() == b"Acme Corp\0\x01"
    assert (tmp_path / "link.txt").is_symlink()
    run_tool("find-and-replace", letter, "--find", r"(\w+) Ltd", "--replace", r"\1 Group", "--regex")
    assert letter.read_text() == "Zenith Group thanks you. Zenith Group!\n"


def test_convert_line_endings(tmp_path, run_tool):
    script = tmp_path / "run.txt"
    script.write_bytes(b"one\r\ntwo\r\nthree")
    blob = tmp_path / "data.bin"
    blob.write_bytes(b"\r\n\0")
    before = snapshot(tmp_path)
    run_tool("convert-line-endings", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("convert-line-endings", tmp_path)
    assert script.read_bytes() == b"one\ntwo\nthree" and blob.read_bytes() == b"\r\n\0"
    run_tool("convert-line-endings", script, "--to", "crlf")
    assert script.read_bytes() == b"one\r\ntwo\r\nthree"
