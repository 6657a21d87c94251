"""How a run is shown as text: one place, so every frontend shows the same thing.

Names, link targets, diffs and output come from the tool, which is untrusted: every
piece passes through `terminal.safe` here, so an escape sequence or a bidirectional
override in a file name cannot rewrite the plan the user confirms. Each change is
shown inside the grant it lands in, so a summary cannot hide where it lands. A long
preview is summarised (the first changes of each kind, the first lines of each diff,
counts of the rest) unless `full` is asked for.
"""

import codecs
import time
from collections.abc import Callable, Iterable, Iterator

from ..base.terminal import safe
from .grants import Grant
from .invocation import flag
from .run_service import ToolRun

CHANGES_PER_KIND = 10  # a preview with more changes of one kind shows the first ones and a count
DIFF_LINES = 12  # and of each diff, the first lines


def report(run: ToolRun, diff: bool = True, access: bool = True, full: bool = False) -> Iterator[tuple[str, str]]:
    """(kind, line) pairs: kind is "head", "note", "change" or "diff", for styling.
    `access` adds what the run could touch (left out where it was shown before the run);
    `full` shows every change and diff line instead of a summary of a long plan."""
    yield "head", f"run {safe(run.run_id)}: {run.state}, exit code {run.exit_code}" + (" (timed out)" if run.timed_out else "")
    if access and run.grants:
        yield from access_lines(run.grants, run.network)
    if run.usage:
        u = run.usage
        yield "note", f"  {u['wall_seconds']:.2f} s wall, {u['cpu_seconds']:.2f} s CPU, {int(u['max_rss_kb']) // 1024} MiB peak memory"
    if run.note:
        yield "note", f"  {safe(run.note)}"
    if run.summary == "not previewed":
        return
    yield "head", f"plan: {run.summary}"
    roots = [g for g in run.grants if g.access == "write"]
    shown, left = {}, {}
    for root, changes in _by_root(run.changes):
        grant = _grant_of(root, roots)
        label = _label(grant) if grant else ""
        yield "head", f"  in {safe(root)}/ (write grant{' ' + label if label else ''}):"
        for c in changes:
            if not full and shown.get(c.kind, 0) >= CHANGES_PER_KIND:
                left[c.kind] = left.get(c.kind, 0) + 1
                continue
            shown[c.kind] = shown.get(c.kind, 0) + 1
            yield "change", f"    {c.kind:<9} {change_line(c)}"
            if diff and c.diff:
                yield "diff", _diff(c.diff, full)
    if left:
        more = ", ".join(f"{n} more {kind}" for kind, n in left.items())
        yield "note", f"  ... {more} (the first {CHANGES_PER_KIND} of each kind are shown; --full shows every change)"


def _diff(text: str, full: bool) -> str:
    lines = text.rstrip("\n").split("\n")
    if full or len(lines) <= DIFF_LINES:
        return safe("\n".join(lines), lines=True)
    return safe("\n".join(lines[:DIFF_LINES]), lines=True) + f"\n... {len(lines) - DIFF_LINES} more diff lines (--full shows them)"


class LiveOutput:
    """A tool's output as it arrives, cut into escaped lines with the seconds since the start.

    `feed(stream, data)` is the sandbox's on_output; `show(stream, line, seconds)` gets
    each complete line (and, at `close`, an unfinished last one). Bytes that are not
    UTF-8 are replaced, a multi-byte character split across two pieces is kept whole.
    """

    def __init__(self, show: Callable[[str, str, float], None], clock: Callable[[], float] = time.monotonic):
        self.show, self.clock, self.started = show, clock, clock()
        self.pending = {name: "" for name in ("stdout", "stderr")}
        self.decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in self.pending}

    def feed(self, stream: str, data: bytes) -> None:
        text = self.pending[stream] + self.decoders[stream].decode(data)
        *lines, self.pending[stream] = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # a \r redraws: a line too
        for line in lines:
            self.show(stream, safe(line, lines=True), self.clock() - self.started)

    def close(self) -> None:
        for stream in self.pending:
            rest = self.pending[stream] + self.decoders[stream].decode(b"", final=True)
            self.pending[stream] = ""
            if rest:
                self.show(stream, safe(rest, lines=True), self.clock() - self.started)


def elapsed(seconds: float) -> str:
    """`  12.3s`: a fixed-width stamp to put before a live line."""
    return f"{seconds:6.1f}s"


def access_lines(grants: Iterable[Grant], network: bool) -> Iterator[tuple[str, str]]:
    """What a run can touch: every granted path with read or write, and network yes/no."""
    yield "head", "the tool can:"
    for g in grants:
        yield "note", f"  {g.access:<5}  {safe(g.path)}" + (f"  ({_label(g)})" if _label(g) else "")
    yield "note", f"  network: {'yes' if network else 'no'}"


def _label(g: Grant) -> str:
    if g.parameter is None:
        return "the tool's own files"
    if not g.parameter:
        return ""
    return flag(g.parameter) + (", the manifest's default" if g.default else "")


def _by_root(changes) -> list[tuple[str, list]]:
    grouped: dict[str, list] = {}
    for c in changes:
        grouped.setdefault(c.root, []).append(c)
    return list(grouped.items())


def _grant_of(root: str, writes: list[Grant]) -> Grant | None:
    inside = [g for g in writes if root == g.path or root.startswith(g.path.rstrip("/") + "/")]
    return max(inside, key=lambda g: len(g.path), default=None)


def change_line(c) -> str:
    """Where a change lands (relative to its write grant, `c.root`) and what it is:
    path (rename, link target), size, mode; escaped for a terminal."""
    return _where(c) + _details(c)


def _where(c) -> str:
    path = f"{safe(c.old_path)} -> {safe(c.path)}" if c.kind == "renamed" else safe(c.path)
    path += "/" if c.type == "dir" else ""
    if c.type == "symlink":
        before, after = safe(c.link_before or ""), safe(c.link_after or "")
        path += f" -> {after or before}" if c.kind != "modified" else f" ({before} -> {after})"
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
