"""File and folder recipes run as real programs on trees made here."""

import csv
import hashlib
import io
import os
import shutil
import tarfile
import time
import zipfile

from recipe_helpers import names, snapshot


def test_sort_files_by_type(tmp_path, run_tool):
    for name in ("a.jpg", "b.PDF", "c.mp3", "d.xyz"):
        (tmp_path / name).write_text(name)
    (tmp_path / "Images").mkdir()
    (tmp_path / "Images" / "a.jpg").write_text("older")
    (tmp_path / "sub").mkdir()
    before = snapshot(tmp_path)
    run_tool("sort-files-by-type", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("sort-files-by-type", tmp_path)
    assert names(tmp_path) == {"Images/a.jpg", "Images/a-1.jpg", "Documents/b.PDF", "Music/c.mp3", "d.xyz"}
    assert (tmp_path / "Images" / "a.jpg").read_text() == "older"
    run_tool("sort-files-by-type", tmp_path, "--include-other")
    assert "Other/d.xyz" in names(tmp_path)


def test_find_duplicate_files_reports_and_deletes_extra_copies(tmp_path, run_tool):
    (tmp_path / "a.txt").write_text("same content")  # 12 bytes: small files count too
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("same content")
    (tmp_path / "c.txt").write_text("same kontent")  # same size, different bytes
    (tmp_path / "empty1").write_text("")
    (tmp_path / "empty2").write_text("")
    report = run_tool("find-duplicate-files", tmp_path)
    assert "keep   a.txt" in report.stdout and "sub/b.txt" in report.stdout
    assert "c.txt" not in report.stdout and "empty" not in report.stdout
    before = snapshot(tmp_path)
    run_tool("find-duplicate-files", tmp_path, "--delete", "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("find-duplicate-files", tmp_path, "--delete")
    assert names(tmp_path) == {"a.txt", "c.txt", "empty1", "empty2"}


def test_bulk_rename_with_pattern_and_find_replace(tmp_path, run_tool):
    for name in ("b.jpg", "a.jpg", "c.png"):
        (tmp_path / name).write_text(name)
    before = snapshot(tmp_path)
    run_tool("bulk-rename", tmp_path, "--pattern", "trip-{n}{ext}", "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("bulk-rename", tmp_path, "--pattern", "trip-{n}{ext}")
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "trip-001.jpg": "a.jpg", "trip-002.jpg": "b.jpg", "trip-003.png": "c.png"
    }
    (tmp_path / "holiday-001.jpg").write_text("keep me")
    run_tool("bulk-rename", tmp_path, "--find", "^trip", "--replace", "holiday", "--match", "*.jpg")
    assert (tmp_path / "holiday-001.jpg").read_text() == "keep me"
    assert names(tmp_path) == {"holiday-001.jpg", "holiday-001-1.jpg", "holiday-002.jpg", "trip-003.png"}
    bad = run_tool("bulk-rename", tmp_path, "--pattern", "{nope}", check=False)
    assert bad.returncode == 2 and "unknown placeholder" in bad.stderr


def test_delete_empty_folders(tmp_path, run_tool):
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("x")
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / ".DS_Store").write_text("junk")
    before = snapshot(tmp_path)
    run_tool("delete-empty-folders", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("delete-empty-folders", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "e"]
    run_tool("delete-empty-folders", tmp_path, "--remove-junk")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]
    assert tmp_path.is_dir()


def test_find_large_files(tmp_path, run_tool):
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "movie.mkv").write_bytes(b"\0" * (2 * 1024 * 1024))
    (tmp_path / "small.txt").write_bytes(b"x" * 500_000)
    result = run_tool("find-large-files", tmp_path, "--min-size", "1MB")
    assert "2.0 MB  deep/movie.mkv" in result.stdout and "small.txt" not in result.stdout
    bad = run_tool("find-large-files", tmp_path, "--min-size", "lots", check=False)
    assert bad.returncode == 2 and "not a size" in bad.stderr


def test_zip_each_folder(tmp_path, run_tool):
    (tmp_path / "A" / "sub").mkdir(parents=True)
    (tmp_path / "A" / "x.txt").write_text("x")
    (tmp_path / "A" / "sub" / "y.txt").write_text("y")
    (tmp_path / "B").mkdir()
    (tmp_path / "B" / "z.txt").write_text("z")
    before = snapshot(tmp_path)
    run_tool("zip-each-folder", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("zip-each-folder", tmp_path)
    with zipfile.ZipFile(tmp_path / "A.zip") as archive:
        assert sorted(archive.namelist()) == ["A/sub/y.txt", "A/x.txt"]
        assert archive.read("A/sub/y.txt") == b"y"
    assert (tmp_path / "B.zip").is_file() and (tmp_path / "A" / "x.txt").is_file()
    again = run_tool("zip-each-folder", tmp_path)
    assert "made 0 zip(s); 2 already existed" in again.stdout


def test_extract_archives_safely(tmp_path, run_tool):
    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as archive:
        archive.writestr("a.txt", "from zip")
    source = tmp_path / "src.txt"
    source.write_text("from tar")
    with tarfile.open(tmp_path / "docs.tar.gz", "w:gz") as archive:
        archive.add(source, "inner/b.txt")
    source.unlink()
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as archive:
        archive.writestr("../escaped.txt", "should never be written")
        archive.writestr("fine.txt", "inside")
    escape = tarfile.TarInfo("../../escaped-tar.txt")
    escape.size = 4
    with tarfile.open(tmp_path / "evil-tar.tar", "w") as archive:
        archive.addfile(escape, io.BytesIO(b"evil"))
        archive.add(source.with_name("docs.tar.gz"), "ok.tar.gz")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    before = snapshot(tmp_path)
    run_tool("extract-archives", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    result = run_tool("extract-archives", tmp_path, "--delete-archives")  # exit 0: one bad archive does not drop the rest
    assert "skipped unsafe entry '../escaped.txt'" in result.stdout
    assert "skipped unsafe entry '../../escaped-tar.txt'" in result.stdout
    assert "failed broken.zip" in result.stdout and "unsafe entries skipped 2" in result.stdout
    assert (tmp_path / "photos" / "a.txt").read_text() == "from zip"
    assert (tmp_path / "docs" / "inner" / "b.txt").read_text() == "from tar"
    assert (tmp_path / "evil" / "fine.txt").read_text() == "inside"
    assert (tmp_path / "evil-tar" / "ok.tar.gz").is_file()
    assert not list(tmp_path.parent.glob("escaped*")) and not list(tmp_path.parent.parent.glob("escaped*"))
    assert not any(p.name.endswith(".extracting") for p in tmp_path.iterdir())
    assert {"evil.zip", "evil-tar.tar", "broken.zip"} <= names(tmp_path)  # kept: not extracted completely
    assert "photos.zip" not in names(tmp_path)


def test_extract_archives_fails_only_when_nothing_could_be_extracted(tmp_path, run_tool):
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    result = run_tool("extract-archives", tmp_path, check=False)
    assert result.returncode == 1 and "failed broken.zip" in result.stdout


def test_clean_up_file_names(tmp_path, run_tool):
    (tmp_path / "Résumé (final) copy!!.PDF").write_text("cv")
    (tmp_path / "already-clean.txt").write_text("ok")
    (tmp_path / "照片 2024 #1.JPG").write_text("photo")
    before = snapshot(tmp_path)
    run_tool("clean-up-file-names", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("clean-up-file-names", tmp_path)
    assert names(tmp_path) == {"Resume-final-copy.pdf", "already-clean.txt", "照片-2024-1.jpg"}
    run_tool("clean-up-file-names", tmp_path, "--lowercase", "--separator", "_")
    assert names(tmp_path) == {"resume-final-copy.pdf", "already-clean.txt", "照片-2024-1.jpg"}


def test_lowercase_extensions_never_overwrites(tmp_path, run_tool):
    (tmp_path / "A.JPG").write_text("a")
    (tmp_path / "C.JPG").write_text("upper")
    (tmp_path / "C.jpg").write_text("lower")
    before = snapshot(tmp_path)
    run_tool("lowercase-extensions", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("lowercase-extensions", tmp_path)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"A.jpg": "a", "C.jpg": "lower", "C-1.jpg": "upper"}


def test_flatten_folder(tmp_path, run_tool):
    for relative, text in {"a/x.txt": "ax", "b/x.txt": "bx", "b/c/y.txt": "y", "top.txt": "t"}.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    before = snapshot(tmp_path)
    run_tool("flatten-folder", tmp_path, "--dry-run")
    assert snapshot(tmp_path) == before
    run_tool("flatten-folder", tmp_path)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"x.txt": "ax", "x-1.txt": "bx", "y.txt": "y", "top.txt": "t"}


def test_list_recent_files(tmp_path, run_tool):
    old = tmp_path / "old.txt"
    old.write_text("old")
    month_ago = time.time() - 30 * 86400
    os.utime(old, (month_ago, month_ago))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "new.txt").write_text("new")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "index").write_text("hidden")
    result = run_tool("list-recent-files", tmp_path, "--days", 7)
    assert "docs/new.txt" in result.stdout and "old.txt" not in result.stdout and ".git" not in result.stdout
    assert "1 file(s) changed" in result.stdout


def test_checksum_and_verify(tmp_path, run_tool):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.bin").write_bytes(b"\x00\x01\x02")
    (data / "sub" / "b.txt").write_text("hello")
    sums = tmp_path / "SHA256SUMS"
    run_tool("checksum-folder", data, "--output", sums)
    a_sum, b_sum = hashlib.sha256(b"\x00\x01\x02").hexdigest(), hashlib.sha256(b"hello").hexdigest()
    assert sums.read_text() == f"{a_sum}  a.bin\n{b_sum}  sub/b.txt\n"
    assert "2 ok, 0 changed, 0 missing" in run_tool("verify-checksums", data, sums).stdout
    (data / "sub" / "b.txt").write_text("hellO")
    (data / "a.bin").unlink()
    (data / "new.txt").write_text("new")
    result = run_tool("verify-checksums", data, sums, "--report-new", check=False)
    assert result.returncode == 1
    assert "CHANGED  sub/b.txt" in result.stdout and "MISSING  a.bin" in result.stdout and "NEW      new.txt" in result.stdout


def test_split_and_join_round_trip(tmp_path, run_tool):
    big = tmp_path / "movie.mkv"
    payload = os.urandom(2 * 1024 * 1024 + 12345)
    big.write_bytes(payload)
    parts = tmp_path / "parts"
    run_tool("split-file", big, parts, "--size", "1MB", "--dry-run")
    assert not parts.exists()
    run_tool("split-file", big, parts, "--size", "1MB")
    assert sorted(p.name for p in parts.iterdir()) == ["movie.mkv.001", "movie.mkv.002", "movie.mkv.003"]
    assert [p.stat().st_size for p in sorted(parts.iterdir())] == [1048576, 1048576, 12345]
    joined = tmp_path / "joined.mkv"
    shuffled = [parts / "movie.mkv.003", parts / "movie.mkv.001", parts / "movie.mkv.002"]
    run_tool("join-files", *shuffled, "--output", joined, "--dry-run")
    assert not joined.exists()
    run_tool("join-files", *shuffled, "--output", joined)
    assert joined.read_bytes() == payload
    gap = run_tool("join-files", parts / "movie.mkv.001", parts / "movie.mkv.003", "--output", tmp_path / "bad", check=False)
    assert gap.returncode == 2 and "not consecutive" in gap.stderr and not (tmp_path / "bad").exists()
    clash = run_tool("split-file", big, parts, "--size", "1MB", check=False)
    assert clash.returncode == 2 and "already exists" in clash.stderr


def test_folder_sizes_largest_first(tmp_path, run_tool):
    (tmp_path / "videos" / "2024").mkdir(parents=True)
    (tmp_path / "videos" / "2024" / "a.mp4").write_bytes(b"v" * 300_000)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_bytes(b"d" * 2000)
    (tmp_path / "loose.bin").write_bytes(b"l" * 10)
    lines = run_tool("folder-sizes", tmp_path).stdout.splitlines()
    assert lines[0].split() == ["293.0", "KB", "1", "file(s)", "videos/"]
    assert lines[1].split() == ["2.0", "KB", "1", "file(s)", "docs/"]
    assert lines[2].split()[:4] == ["10", "B", "1", "file(s)"]
    assert lines[3].split() == ["294.9", "KB", "in", "all"]  # 302010 bytes


def test_list_files_to_csv(tmp_path, run_tool):
    folder = tmp_path / "drive"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "Report.PDF").write_bytes(b"x" * 42)
    (folder / ".hidden").write_text("secret")
    stamp = time.mktime((2023, 4, 5, 6, 7, 8, 0, 0, -1))
    os.utime(folder / "sub" / "Report.PDF", (stamp, stamp))
    out = folder / "inventory.csv"
    run_tool("list-files-to-csv", folder, out)
    with out.open(newline="") as f:
        assert list(csv.DictReader(f)) == [
            {"path": "sub/Report.PDF", "name": "Report.PDF", "extension": "pdf", "size_bytes": "42", "modified": "2023-04-05T06:07:08"}
        ]


def test_copy_new_files_never_deletes_or_overwrites_newer_backups(tmp_path, run_tool):
    source, backup = tmp_path / "work", tmp_path / "backup"
    (source / "sub").mkdir(parents=True)
    (source / "new.txt").write_text("new")
    (source / "sub" / "changed.txt").write_text("version 2")
    (source / "same.txt").write_text("same")
    (source / "edited-in-backup.txt").write_text("original")
    (backup / "sub").mkdir(parents=True)
    (backup / "sub" / "changed.txt").write_text("v1")
    (backup / "only-in-backup.txt").write_text("keep")
    shutil.copy2(source / "same.txt", backup / "same.txt")
    (backup / "edited-in-backup.txt").write_text("edited later")
    old, newer = time.time() - 3600, time.time() + 60
    os.utime(backup / "sub" / "changed.txt", (old, old))
    os.utime(backup / "edited-in-backup.txt", (newer, newer))
    before = snapshot(tmp_path)
    run_tool("copy-new-files", source, backup, "--dry-run")
    assert snapshot(tmp_path) == before
    result = run_tool("copy-new-files", source, backup)
    assert "copied 2 file(s)" in result.stdout and "1 newer in the backup" in result.stdout
    assert {p: (backup / p).read_text() for p in names(backup)} == {
        "new.txt": "new", "sub/changed.txt": "version 2", "same.txt": "same",
        "edited-in-backup.txt": "edited later", "only-in-backup.txt": "keep",
    }
    assert (backup / "new.txt").stat().st_mtime == (source / "new.txt").stat().st_mtime
    assert "copied 0 file(s)" in run_tool("copy-new-files", source, backup).stdout
    inside = run_tool("copy-new-files", source, source / "sub", check=False)
    assert inside.returncode == 2 and "must not be inside" in inside.stderr
