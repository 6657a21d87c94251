"""Recipes that delete, move, rename, back up, count and split, run as real programs on trees made here."""

import csv
import datetime as dt
import json
import os
import time
import zipfile

from recipe_helpers import names, snapshot

DAY = 86400


def aged(path, days, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))
    return path


def test_delete_old_files_only_past_the_age_and_pattern(tmp_path, run_tool):
    aged(tmp_path / "old.log", 40)
    aged(tmp_path / "old.txt", 40)
    aged(tmp_path / "new.log", 2)
    aged(tmp_path / "sub" / "deep.log", 40)
    before = snapshot(tmp_path)
    listed = run_tool("delete-old-files", tmp_path, "--dry-run")
    assert "would delete old.log" in listed.stdout and "would delete 2 file(s)" in listed.stdout
    assert snapshot(tmp_path) == before
    run_tool("delete-old-files", tmp_path, "--days", "30", "--match", "*.log")
    assert names(tmp_path) == {"old.txt", "new.log", "sub/deep.log"}
    run_tool("delete-old-files", tmp_path, "--days", "7", "--recursive")
    assert names(tmp_path) == {"new.log"}


def test_move_old_files_keeps_structure_and_never_overwrites(tmp_path, run_tool):
    home, archive = tmp_path / "home", tmp_path / "archive"
    aged(home / "a.txt", 100, "old a")
    aged(home / "sub" / "b.txt", 100, "old b")
    aged(home / "c.txt", 10, "fresh")
    aged(archive / "a.txt", 0, "earlier archive")
    run_tool("move-old-files", home, archive, "--recursive")
    assert names(home) == {"c.txt"}
    assert names(archive) == {"a.txt", "a-1.txt", "sub/b.txt"}
    assert (archive / "a.txt").read_text() == "earlier archive" and (archive / "a-1.txt").read_text() == "old a"
    bad = run_tool("move-old-files", home, home, check=False)
    assert bad.returncode == 2 and "destination" in bad.stderr


def test_backup_folder_makes_a_dated_zip_and_never_overwrites(tmp_path, run_tool):
    docs, backups = tmp_path / "Documents", tmp_path / "backups"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text("a")
    (docs / "sub" / "b.txt").write_text("b")
    (docs / "junk.tmp").write_text("skip")
    run_tool("backup-folder", docs, backups, "--exclude", "*.tmp")
    run_tool("backup-folder", docs, backups)
    run_tool("backup-folder", docs, backups)
    zips = sorted(p.name for p in backups.iterdir())
    today = dt.date.today().isoformat()
    assert len(zips) == 3 and f"Documents-{today}.zip" in zips and all(z.startswith(f"Documents-{today}") for z in zips)
    with zipfile.ZipFile(backups / f"Documents-{today}.zip") as archive:
        assert sorted(archive.namelist()) == ["Documents/a.txt", "Documents/sub/b.txt"]
    inside = run_tool("backup-folder", docs, docs / "backups", check=False)
    assert inside.returncode == 2 and "outside" in inside.stderr


def test_move_files_by_pattern_or_type(tmp_path, run_tool):
    downloads, pdfs = tmp_path / "Downloads", tmp_path / "pdfs"
    downloads.mkdir()
    for name in ("a.pdf", "B.PDF", "c.jpg", "invoice-1.txt", "d.png"):
        (downloads / name).write_text(name)
    (pdfs).mkdir()
    (pdfs / "a.pdf").write_text("already here")
    before = snapshot(tmp_path)
    run_tool("move-files-by-pattern", downloads, pdfs, "--match", "*.pdf", "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("move-files-by-pattern", downloads, pdfs, "--match", "*.pdf")
    assert names(pdfs) == {"a.pdf", "a-1.pdf", "B.PDF"} and (pdfs / "a.pdf").read_text() == "already here"
    run_tool("move-files-by-pattern", downloads, tmp_path / "Images", "--type", "images")
    assert names(tmp_path / "Images") == {"c.jpg", "d.png"} and names(downloads) == {"invoice-1.txt"}
    neither = run_tool("move-files-by-pattern", downloads, pdfs, check=False)
    assert neither.returncode == 2 and "--match" in neither.stderr


def test_replace_in_file_names(tmp_path, run_tool):
    for name in ("my_holiday_photo.jpg", "draft_report.docx", "final_report.docx", "plain.txt"):
        (tmp_path / name).write_text(name)
    before = snapshot(tmp_path)
    run_tool("replace-in-file-names", tmp_path, "--find", "_", "--replace", " ", "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("replace-in-file-names", tmp_path, "--find", "draft", "--replace", "final")
    assert (tmp_path / "final_report-1.docx").read_text() == "draft_report.docx"
    run_tool("replace-in-file-names", tmp_path, "--find", "_", "--replace", " ")
    assert names(tmp_path) == {"my holiday photo.jpg", "final report.docx", "final report-1.docx", "plain.txt"}
    run_tool("replace-in-file-names", tmp_path, "--find", r"(\w+) holiday", "--replace", r"\1 trip", "--regex")
    assert "my trip photo.jpg" in names(tmp_path)


def test_date_prefix_files_uses_the_modified_date_once(tmp_path, run_tool):
    report = aged(tmp_path / "report.pdf", 0)
    stamp = dt.datetime(2024, 3, 9, 12, 0).timestamp()
    os.utime(report, (stamp, stamp))
    (tmp_path / "2023-01-01_old.txt").write_text("already dated")
    run_tool("date-prefix-files", tmp_path)
    assert names(tmp_path) == {"2024-03-09_report.pdf", "2023-01-01_old.txt"}
    run_tool("date-prefix-files", tmp_path)
    assert names(tmp_path) == {"2024-03-09_report.pdf", "2023-01-01_old.txt"}
    bad = run_tool("date-prefix-files", tmp_path, "--format", "plain", check=False)
    assert bad.returncode == 2 and "--format" in bad.stderr


def test_count_lines_of_code_per_language(tmp_path, run_tool):
    (tmp_path / "app.py").write_text("# a comment\nimport os\n\nprint(os.name)\n")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "main.js").write_text("// hi\nlet a = 1;\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "lib.js").write_text("x\n" * 100)
    (tmp_path / "notes.xyz").write_text("not code\n")
    result = run_tool("count-lines-of-code", tmp_path, "--json")
    assert json.loads(result.stdout) == {
        "Python": {"files": 1, "code": 2, "comment": 1, "blank": 1},
        "JavaScript": {"files": 1, "code": 1, "comment": 1, "blank": 0},
    }
    table = run_tool("count-lines-of-code", tmp_path).stdout.splitlines()
    assert table[-1].split() == ["total", "2", "3", "2", "1"]


def test_split_csv_keeps_the_header_and_whole_rows(tmp_path, run_tool):
    source = tmp_path / "sales.csv"
    with source.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "note"])
        writer.writerows([[n, f"line one\nline two, {n}"] for n in range(1, 6)])
    parts = tmp_path / "parts"
    before = snapshot(tmp_path)
    run_tool("split-csv", source, parts, "--rows", "2", "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("split-csv", source, parts, "--rows", "2")
    assert sorted(p.name for p in parts.iterdir()) == ["sales-001.csv", "sales-002.csv", "sales-003.csv"]
    rows = [list(csv.reader((parts / f"sales-00{n}.csv").open(newline=""))) for n in (1, 2, 3)]
    assert all(part[0] == ["id", "note"] for part in rows)
    assert [r[0] for part in rows for r in part[1:]] == ["1", "2", "3", "4", "5"]
    assert rows[1][1] == ["3", "line one\nline two, 3"]
    again = run_tool("split-csv", source, parts, "--rows", "2", check=False)
    assert again.returncode == 2 and "already exists" in again.stderr
