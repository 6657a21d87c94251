"""What a run shows: the tool's output live and escaped, and a long preview summarised (--full for all)."""

import os

from toolsmith.core.tools.run_report import CHANGES_PER_KIND, DIFF_LINES, LiveOutput, elapsed, report
from toolsmith.core.tools.run_service import ToolRun
from toolsmith.sandbox.plan import Change


def test_live_output_cuts_lines_keeps_split_characters_and_stamps_the_time():
    shown, now = [], [100.0]
    live = LiveOutput(lambda stream, line, seconds: shown.append((stream, line, seconds)), clock=lambda: now[0])
    now[0] = 101.5
    live.feed("stdout", "first\nsec".encode())
    live.feed("stderr", b"warn\x1b[31m\r\n")
    now[0] = 103.0
    live.feed("stdout", "ond 照".encode()[:-1])  # the last character arrives in two pieces
    live.feed("stdout", "ond 照".encode()[-1:] + b"\n50%\r100%\rpartial")
    live.close()
    assert shown == [
        ("stdout", "first", 1.5), ("stderr", "warn\\x1b[31m", 1.5), ("stdout", "second 照", 3.0),
        ("stdout", "50%", 3.0), ("stdout", "100%", 3.0), ("stdout", "partial", 3.0),
    ]
    assert elapsed(1.5) == "   1.5s"


def change(n: int, kind: str = "created", diff_lines: int = 0) -> Change:
    diff = "".join(f"+line {i}\n" for i in range(diff_lines)) or None
    return Change(kind=kind, type="file", root="/r", path=f"f{n:03}\x1b[31m.txt", size_after=1, size_before=1, diff=diff)


def run_with(changes: list[Change]) -> ToolRun:
    return ToolRun(run_id="r1", state="previewed", exit_code=0, timed_out=False, killed=False, usage=None, note="",
                   stdout="", stderr="", summary=f"{len(changes)} changes", counts={}, changes=changes)


def test_a_long_preview_is_summarised_and_full_shows_everything():
    changes = [change(n) for n in range(CHANGES_PER_KIND + 5)] + [change(100, "modified", diff_lines=DIFF_LINES + 8)]
    lines = [line for _, line in report(run_with(changes))]
    assert sum(line.startswith("    created") for line in lines) == CHANGES_PER_KIND
    assert "  ... 5 more created (the first 10 of each kind are shown; --full shows every change)" in lines
    diff = next(line for kind, line in report(run_with(changes)) if kind == "diff")
    assert diff.count("\n+line") == DIFF_LINES - 1 and diff.endswith("... 8 more diff lines (--full shows them)")
    assert all("\x1b" not in line for line in lines) and any("f000\\x1b[31m.txt" in line for line in lines)
    full = [line for _, line in report(run_with(changes), full=True)]
    assert sum(line.startswith("    created") for line in full) == CHANGES_PER_KIND + 5
    assert not any("more" in line for line in full)


def test_run_streams_the_tools_output_escaped(run_cli, tmp_path):
    script = tmp_path / "noisy.py"
    script.write_text(
        '"""Print some lines, one of them hostile."""\nimport argparse\n\n\ndef main():\n'
        '    argparse.ArgumentParser(description="noisy").parse_args()\n'
        '    print("working on it")\n    print("\\x1b]0;owned\\x07 \\u202eevil")\n'
        '    import sys\n    print("a warning", file=sys.stderr)\n\n\nif __name__ == "__main__":\n    main()\n'
    )
    assert run_cli("import", script).returncode == 0
    ran = run_cli("run", "noisy")
    assert ran.returncode == 0, ran.stderr
    assert "\nworking on it\n\\x1b]0;owned\\x07 \\u202eevil\nrun " in ran.stdout  # live, before the report; piped: no stamps
    assert "\x1b" not in ran.stdout and "\u202e" not in ran.stdout
    assert "a warning\n" in ran.stderr


def test_run_full_shows_every_change(run_cli, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(CHANGES_PER_KIND + 3):
        (folder / f"file{n:02}.TXT").write_text("x")
    if os.geteuid() == 0:
        from toolsmith.sandbox.launcher import SANDBOX_UID

        for path in [folder, *folder.iterdir()]:
            os.chown(path, SANDBOX_UID, SANDBOX_UID)
    assert run_cli("new", "lowercase file extensions").returncode == 0
    summarised = run_cli("run", "lowercase-extensions", folder, "--preview")
    assert "... 3 more renamed" in summarised.stdout
    full = run_cli("run", "lowercase-extensions", folder, "--preview", "--full")
    assert "more renamed" not in full.stdout and full.stdout.count("  renamed") == CHANGES_PER_KIND + 3
