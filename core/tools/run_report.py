"""How a run is shown as text: one place, so every frontend shows the same thing.

Names and diffs come from the tool, which is untrusted; ToolRun already holds them
with undecodable bytes escaped (run_service.escaped).
"""

from collections.abc import Iterator

from .run_service import ToolRun


def report(run: ToolRun, diff: bool = True) -> Iterator[tuple[str, str]]:
    """(kind, line) pairs: kind is "head", "note", "change" or "diff", for styling."""
    yield "head", f"run {run.run_id}: {run.state}, exit code {run.exit_code}" + (" (timed out)" if run.timed_out else "")
    if run.usage:
        u = run.usage
        yield "note", f"  {u['wall_seconds']:.2f} s wall, {u['cpu_seconds']:.2f} s CPU, {int(u['max_rss_kb']) // 1024} MiB peak memory"
    if run.note:
        yield "note", f"  {run.note}"
    if run.summary == "not previewed":
        return
    yield "head", f"plan: {run.summary}"
    for c in run.changes:
        yield "change", f"  {c.kind:<9} {change_line(c)}"
        if diff and c.diff:
            yield "diff", c.diff.rstrip("\n")


def change_line(c) -> str:
    """Where a change lands and what it is: path (rename, link target), size, mode."""
    return _where(c) + _details(c)


def _where(c) -> str:
    path = f"{c.old_path} -> {c.path}" if c.kind == "renamed" else c.path
    path += "/" if c.type == "dir" else ""
    if c.type == "symlink":
        path += f" -> {c.link_after or c.link_before}" if c.kind != "modified" else f" ({c.link_before} -> {c.link_after})"
    return path


def _details(c) -> str:
    if c.mode_before is not None and c.mode_after is not None and c.mode_before != c.mode_after:
        mode = f" (mode {c.mode_before:o} -> {c.mode_after:o})"
    else:
        mode = ""
    if c.type != "file":
        return mode
    if c.kind == "modified":
        return f" ({c.size_before:,} -> {c.size_after:,} bytes)" + mode
    size = c.size_after if c.size_after is not None else c.size_before
    return f" ({size:,} bytes)" + mode
