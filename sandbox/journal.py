"""Apply a plan to the real files, undo it, and recover from a crash in between.

Every change becomes a short list of steps whose effect can be seen on disk and
reversed: `stage` (put new content into a private area), `rename` (never over an
existing path), `exchange` (swap two paths atomically: a modified file is never
missing, not even for a moment), `mkdir` and `chmod` (of a folder). Nothing is ever
overwritten or unlinked: what a plan replaces or deletes is renamed into the run's
trash area, on the same filesystem as the file. The journal is append-only JSON lines:

    {"begin": "apply", "run": ID, "private": [trash areas]}
    {"step": 1, "op": "rename", "src": ..., "dst": ...}    # every intent, one fsync
    {"done": 1}                                           # after each step
    {"commit": true, "stamps": {...}}                     # fsync'd: the new state holds
    {"rolled_back": true}                                 # written by recovery

A journal without "commit" or "rolled_back" belongs to an interrupted apply (or
undo): `recover()` reverses, newest first, the steps that took effect, so the files
end exactly as they were before. Undo is the same machine run on the
inverted steps of a committed apply.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import SandboxError
from .plan import Change, Plan, Stamp, mode_bits, sha256_file, stamp_of

APPLY, UNDO = "apply.journal", "undo.journal"
FAULT_ENV = "TOOLSMITH_JOURNAL_FAULT"  # tests: "N" exits right after step N; "fail:N" fails step N;
# "rollback:N" exits right before reversing step N


class JournalError(SandboxError):
    """Applying, undoing or recovering a run failed."""


class ConcurrentChangeError(JournalError):
    """A file the plan touches changed after the preview; nothing was written."""


class UndoConflictError(JournalError):
    """A file the apply wrote changed since; undo would destroy that change."""


# ---------------------------------------------------------------- public API


def apply(plan: Plan, run_dir: Path) -> None:
    """Commit `plan` to the real files, or leave them untouched and raise."""
    with locked(run_dir):
        if committed(run_dir / APPLY):
            raise JournalError(f"run {run_dir.name} is applied already")
        problems = verify(plan)
        if problems:
            raise ConcurrentChangeError(
                _problems_message("changed since the preview; nothing was applied", problems) + " Run the tool again for a fresh preview."
            )
        _unlock_layers(plan)
        areas: dict[str, Path] = {}
        try:
            steps = _apply_steps(plan, run_dir, areas)
            private = [str(run_dir), *(str(a) for a in areas.values())]
            _run_or_roll_back(run_dir / APPLY, {"begin": "apply", "run": run_dir.name, "private": private}, steps)
        except BaseException:
            _remove_areas([str(a) for a in areas.values()])
            raise


def undo(run_dir: Path, force: bool = False, roots: list[str] | None = None) -> None:
    """Restore exactly the files as they were before the apply of this run.
    With `roots` (the run's write roots, from its record), a journal naming any path
    outside them and the run's own areas is refused (see `trusted`)."""
    with locked(run_dir):
        entries = _read(run_dir / APPLY)
        if roots is not None:
            trusted(entries, run_dir, roots)
        commit = next((e for e in entries if "commit" in e), None)
        if commit is None:
            raise JournalError(f"run {run_dir.name} was never applied; nothing to undo")
        if committed(run_dir / UNDO):
            raise JournalError(f"run {run_dir.name} is undone already")
        expected = commit["stamps"]
        problems = [f"{path} ({why})" for path, why in _drifted(expected)]
        if problems and not force:
            raise UndoConflictError(
                _problems_message("changed since the apply; undo would lose those changes", problems)
                + " Use --force to undo anyway (the changed files are kept in the run's trash)."
            )
        steps = _undo_steps([e for e in entries if "step" in e], expected)
        _run_or_roll_back(run_dir / UNDO, {"begin": "undo", "run": run_dir.name, "private": entries[0]["private"]}, steps)


def recover(run_dir: Path, roots: list[str] | None = None) -> str | None:
    """Roll back an interrupted apply or undo of this run; say which, or None.

    Skips a run whose lock is held: another process is applying it right now. With
    `roots` (the run's write roots, from its record), a journal naming any path
    outside them and the run's own areas is refused before anything is done.
    """
    try:
        with locked(run_dir, wait=False):
            for name in (UNDO, APPLY):
                if pending(run_dir / name):
                    if roots is not None:
                        trusted(_read(run_dir / name), run_dir, roots)
                    _roll_back(run_dir / name)
                    return name.split(".")[0]
    except BlockingIOError:
        return None
    return None


def pending(journal: Path) -> bool:
    """True when `journal` holds an apply or undo that neither committed nor was rolled back."""
    entries = _read(journal)
    return bool(entries) and not any("commit" in e or "rolled_back" in e for e in entries)


def committed(journal: Path) -> bool:
    return any("commit" in e for e in _read(journal))


@contextmanager
def locked(run_dir: Path, wait: bool = True) -> Iterator[None]:
    """One process at a time per run; the kernel drops the lock when a process dies."""
    fd = os.open(run_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        yield
    finally:
        os.close(fd)


# ---------------------------------------------------------------- checks


def trusted(entries: list[dict], run_dir: Path, roots: list[str]) -> None:
    """Refuse a journal that would act outside this run: every path a step names must
    lie, after resolving the folders above it, inside one of the run's write roots or
    inside the run's folder, and its areas must be the run's own. A journal planted in
    the runs folder (by a tool that was handed it, say) is then never acted on."""
    real_run = os.path.realpath(run_dir)
    real_roots = [os.path.realpath(r) for r in roots]
    within = [real_run, *real_roots]
    areas = {real_run, *(os.path.join(r, f".toolsmith-{run_dir.name}") for r in real_roots)}
    header = entries[0] if entries else {}
    if entries and header.get("run") != run_dir.name:
        raise JournalError(f"journal of run {run_dir.name} names another run ({header.get('run')!r}); not acted on")
    for area in header.get("private", []):
        real = _resolved(area)
        if real not in areas and not real.startswith(real_run + os.sep):
            raise JournalError(f"journal of run {run_dir.name}: staging area {area!r} is not this run's; not acted on")
    for step in entries:
        for key in ("src", "dst", "a", "b", "path", "area"):
            value = step.get(key) if "step" in step else None
            if value is None:
                continue
            real = _resolved(str(value))
            if not any(real == w or real.startswith(w.rstrip("/") + "/") for w in within):
                raise JournalError(
                    f"journal of run {run_dir.name}: step {step['step']} names {value!r}, outside the run's write roots "
                    f"({', '.join(real_roots) or 'none'}) and staging areas; not acted on"
                )


def _resolved(path: str) -> str:
    """`path` with the folders above it resolved (the last part may be a link or missing)."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def verify(plan: Plan) -> list[str]:
    """Every reason the real files no longer match what the preview saw."""
    problems: list[str] = []
    vacated = {(c.root, c.old_path or c.path) for c in plan.changes if c.kind in ("deleted", "renamed")}
    # a folder swapped for a symlink after the preview would redirect the apply elsewhere
    folders = {os.path.dirname(os.path.join(c.root, rel)) for c in plan.changes for rel in (c.path, c.old_path) if rel}
    made = {os.path.join(c.root, c.path) for c in plan.changes if c.kind == "created" and c.type == "dir"}
    for folder in sorted(folders):
        if os.path.realpath(folder) != folder:
            problems.append(f"{folder} (no longer a plain folder)")
        elif folder not in made and not os.path.isdir(folder):
            problems.append(f"{folder} (folder deleted)")
    for c in plan.changes:
        if c.kind == "created" or c.kind == "renamed":
            full = os.path.join(c.root, c.path)
            if os.path.lexists(full) and (c.root, c.path) not in vacated:
                problems.append(f"{full} (created by someone else)")
        if c.stamp is None:
            continue
        full = os.path.join(c.root, c.old_path or c.path)
        now = stamp_of(full)
        if now is None:
            problems.append(f"{full} (deleted)")
        elif _differs(now, c.stamp, c.type):
            problems.append(f"{full} (modified)")
        elif c.type == "dir" and c.kind == "modified" and mode_bits(os.lstat(full).st_mode) != c.mode_before:
            problems.append(f"{full} (permissions changed)")
        elif c.kind in ("modified", "renamed") and c.type == "file" and c.sha256_before and sha256_file(full) != c.sha256_before:
            problems.append(f"{full} (content changed)")
    return problems


def _differs(now: Stamp, then: Stamp, kind: str) -> bool:
    if kind == "dir":  # a folder's size and mtime follow its entries, which the plan checks one by one
        return now.ino != then.ino
    return now != then


def _drifted(expected: dict[str, list | None]) -> Iterator[tuple[str, str]]:
    for path, stamp in expected.items():
        now = _final_stamp(path)
        if stamp is None and now is not None:
            yield path, "created since the apply"
        elif stamp is not None and now is None:
            yield path, "deleted since the apply"
        elif now != stamp:
            yield path, "replaced since the apply" if "dir" in (now[0], stamp[0]) else "modified since the apply"
        elif stamp is not None and stamp[0] == "dir" and _unexpected_children(path, expected):
            yield path, "holds new files since the apply"


def _final_stamp(path: str) -> list | None:
    """A file's stamp; for a folder only its inode, since its mtime follows its
    entries (checked one by one) and moves whenever an undo is rolled back."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return ["dir", st.st_ino] if stat.S_ISDIR(st.st_mode) else [st.st_size, st.st_mtime_ns, st.st_ino]


def _problems_message(what: str, problems: list[str]) -> str:
    shown = ", ".join(problems[:5]) + (f" and {len(problems) - 5} more" if len(problems) > 5 else "")
    return f"{shown} {what}."


# ---------------------------------------------------------------- building steps


def _unlock_layers(plan: Plan) -> None:
    """The tool may have left read-only folders in its layer; new content is moved
    out of them (their final modes are in the plan, the layer is discarded after)."""
    for layer in plan.layers:
        _unlock(layer.upper)
        for folder, subfolders, _ in os.walk(layer.upper):  # each unlocked before it is listed
            for name in subfolders:
                _unlock(os.path.join(folder, name))


def _unlock(folder: str) -> None:
    mode = stat.S_IMODE(os.lstat(folder).st_mode)
    if mode | 0o700 != mode:
        os.chmod(folder, mode | 0o700)


def _apply_steps(plan: Plan, run_dir: Path, areas: dict[str, Path]) -> list[dict]:
    """The steps, in an order where each one's source exists and destination is free.

    First every old content leaves its place (renamed sources, then deleted entries,
    into the trash area; modified files swapped in place), then new folders are made,
    then renamed and new content lands, and folders get their final permissions last
    (a folder may not stay writable): no ordering puzzle between a folder replaced by
    a file, a file moved out of a deleted folder, and so on.
    """
    uppers = {layer.target: layer.upper for layer in plan.layers}
    stage, evacuate, leave, mkdirs, land, modes = [], [], [], [], [], []
    deleted_dirs = {(c.root, c.path) for c in plan.changes if c.kind == "deleted" and c.type == "dir"}
    for k, c in enumerate(plan.changes):
        area = areas.get(c.root) or areas.setdefault(c.root, _area(c.root, run_dir, len(areas)))
        full = os.path.join(c.root, c.path)
        if c.kind == "renamed":
            moving = str(area / f"moving-{k}")
            evacuate.append(_rename(os.path.join(c.root, c.old_path), moving))
            land.append(_rename(moving, full))
        elif c.kind == "deleted":
            if (c.root, os.path.dirname(c.path)) not in deleted_dirs:
                leave.append(_rename(full, str(area / f"old-{k}")))
        elif c.type == "dir" and c.kind == "modified":
            modes.append({"op": "chmod", "path": full, "mode": c.mode_after, "old": c.mode_before})
        elif c.type == "dir":
            mkdirs.append({"op": "mkdir", "path": full, "mode": c.mode_after | 0o700, "area": str(area), **_owner(c)})
            if c.mode_after | 0o700 != c.mode_after:
                modes.append({"op": "chmod", "path": full, "mode": c.mode_after, "old": c.mode_after | 0o700})
        else:
            new = str(area / f"new-{k}")
            stage.append(_stage(c, os.path.join(uppers[c.root], c.path), new, same_filesystem(uppers[c.root], area)))
            if c.kind == "modified" and exchange_works(area):
                leave.append(_exchange(new, full, c.stamp.ino))  # the original ends at new-k: that is its trash
            elif c.kind == "modified":
                leave += [_rename(full, str(area / f"old-{k}")), _rename(new, full)]
            else:
                land.append(_rename(new, full))
    mkdirs.sort(key=lambda s: s["path"])
    opens, closes = _opened_parents(stage + evacuate + leave + land, modes, areas)
    return opens + stage + evacuate + leave + mkdirs + land + modes + closes


def _opened_parents(steps: list[dict], modes: list[dict], areas: dict[str, Path]) -> tuple[list[dict], list[dict]]:
    """A normal user may not add to or take from a folder without write permission,
    though the tool did (it made the folder writable, then perhaps read-only again):
    such a folder is opened (u+wx) first and gets its final mode back last."""
    private = [str(a) for a in areas.values()]
    folders = set()
    for step in steps:
        for path in (step.get("src"), step.get("dst"), step.get("b")):
            if path and not any(path.startswith(a + os.sep) for a in private):
                folders.add(os.path.dirname(path))
    final = {m["path"]: m for m in modes}
    opens, closes = [], []
    for folder in sorted(folders):
        if not os.path.isdir(folder) or os.access(folder, os.W_OK | os.X_OK):
            continue
        mode = mode_bits(os.lstat(folder).st_mode)
        opens.append({"op": "chmod", "path": folder, "mode": mode | 0o300, "old": mode})
        if folder in final:
            final[folder]["old"] = mode | 0o300
        else:
            closes.append({"op": "chmod", "path": folder, "mode": mode, "old": mode | 0o300})
    return opens, closes


def _undo_steps(applied: list[dict], expected: dict[str, list | None]) -> list[dict]:
    """The apply's steps inverted, newest first. With --force, whatever now blocks
    a restore is first moved aside into the trash area: kept, never deleted."""
    steps, blocked = [], 0

    def aside(path: str, area: str) -> dict:
        nonlocal blocked
        blocked += 1
        return _rename(path, os.path.join(area, f"displaced-{blocked}"))

    for step in reversed(applied):
        if step["op"] == "rename":
            src, dst = step["src"], step["dst"]
            if src in expected and expected[src] is None and os.path.lexists(src):
                steps.append(aside(src, os.path.dirname(dst)))
            steps.append(_rename(dst, src))
        elif step["op"] == "mkdir":
            steps += [aside(os.path.join(step["path"], name), step["area"]) for name in _unexpected_children(step["path"], expected)]
            # moved, not removed: a rolled-back undo must bring back the same folder (inode)
            steps.append(_rename(step["path"], os.path.join(step["area"], f"made-{step['step']}")))
        elif step["op"] == "chmod":
            steps.append({"op": "chmod", "path": step["path"], "mode": step["old"], "old": step["mode"]})
        elif step["op"] == "exchange" and os.path.lexists(step["b"]):
            steps.append(_exchange(step["a"], step["b"], os.lstat(step["b"]).st_ino))
        elif step["op"] == "exchange":  # (forced) the file was deleted since: just put the original back
            steps.append(_rename(step["a"], step["b"]))
    return steps


def _unexpected_children(folder: str, expected: dict) -> list[str]:
    """Entries of a folder the apply made that the apply did not put there. A folder
    we may not list (the tool made it so) is taken as is: undo moves it whole into
    the trash, so whatever is inside is kept all the same."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, PermissionError):
        return []
    return sorted(n for n in names if os.path.join(folder, n) not in expected)


def _area(root: str, run_dir: Path, index: int) -> Path:
    """Where trash and staged content for `root` live: same filesystem as `root`,
    so every move is a rename. Inside the run when possible, else a hidden folder
    at the top of the write root."""
    if same_filesystem(root, run_dir):
        area = run_dir / "area" / str(index)
    else:
        area = Path(root) / f".toolsmith-{run_dir.name}"
    area.mkdir(parents=True, exist_ok=True)
    return area


def same_filesystem(a: str | Path, b: str | Path) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev


def _rename(src: str, dst: str) -> dict:
    return {"op": "rename", "src": src, "dst": dst}


def _exchange(a: str, b: str, ino: int) -> dict:
    """Swap `a` and `b`; `ino` is the inode at `b` before, at `a` after: how recovery tells."""
    return {"op": "exchange", "a": a, "b": b, "ino": ino}


def _stage(c: Change, source: str, dst: str, same_fs: bool) -> dict:
    """Put the new content beside its destination: the layer's file itself when it
    is on the same filesystem (the layer is discarded after the apply), else a copy."""
    step = {"op": "stage", "src": source, "dst": dst, "mode": c.mode_after}
    if c.type == "symlink":
        step["link"] = c.link_after
    elif same_fs:
        step["move"] = True
    return {**step, **_owner(c)}


def _owner(c: Change) -> dict:
    """Root applying for someone: new files belong to the folder's owner, and
    modified ones keep theirs (a tool's files would otherwise be root's or nobody's)."""
    if os.geteuid() != 0:
        return {}
    st = os.lstat(os.path.join(c.root, c.path) if c.kind == "modified" else c.root)
    return {"owner": [st.st_uid, st.st_gid]}


# ---------------------------------------------------------------- running steps


def _run_or_roll_back(journal: Path, header: dict, steps: list[dict]) -> None:
    """A step that fails (disk full, permission denied) undoes the steps before it."""
    try:
        _run(journal, header, steps)
    except BaseException as e:
        if pending(journal):
            _roll_back(journal)
        if isinstance(e, OSError):
            raise JournalError(f"{header['begin']} of run {header['run']} failed and was rolled back: {e}") from e
        raise


def _run(journal: Path, header: dict, steps: list[dict]) -> None:
    """Journal every intent durably, do the steps, then commit with the new stamps."""
    numbered = [{"step": n, **s} for n, s in enumerate(steps, 1)]
    fault, fail = _fault(""), _fault("fail")
    with open(journal, "w", encoding="utf-8") as log:
        _append(log, [header, *numbered])
        _maybe_fault(fault, 0)
        unsynced: set[str] = set()
        for step in numbered:
            if step["op"] != "stage" and unsynced:
                _syncfs(unsynced)  # staged content is durable before any of it is renamed into place
                unsynced.clear()
            if step["step"] == fail:
                raise OSError(errno.EIO, f"step {fail} failed (simulated by {FAULT_ENV})")
            _do(step)
            if step["op"] == "stage":
                unsynced.add(os.path.dirname(step["dst"]))
            _maybe_fault(fault, step["step"])
            log.write(json.dumps({"done": step["step"]}) + "\n")
            log.flush()
        _fsync_parents(numbered)
        _append(log, [{"commit": True, "stamps": _stamps(numbered, header["private"])}])


def _do(step: dict) -> None:
    op = step["op"]
    if op == "stage":
        _write_staged(step)
    elif op == "rename":
        rename_noreplace(step["src"], step["dst"])
    elif op == "exchange":
        exchange(step["a"], step["b"])
    elif op == "mkdir":
        os.mkdir(step["path"], step["mode"])
        os.chmod(step["path"], step["mode"])  # mkdir's mode is filtered by the umask
        if "owner" in step:
            os.chown(step["path"], *step["owner"])
    elif op == "chmod":
        _chmod_folder(step["path"], step["mode"])


def _chmod_folder(path: str, mode: int) -> None:
    """Journals change the modes of folders only; chmod follows links, so refuse anything else."""
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        raise JournalError(f"{path!r} is not a folder; a journal changes the mode of folders only")
    os.chmod(path, mode)


def _write_staged(step: dict) -> None:
    dst = step["dst"]
    if "link" in step:
        os.symlink(step["link"], dst)
    elif step.get("move"):
        rename_noreplace(step["src"], dst)
        os.chmod(dst, step["mode"])
    else:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with open(step["src"], "rb") as src:
                _copy_fd(src.fileno(), fd)
            os.fchmod(fd, step["mode"])
        finally:
            os.close(fd)
        shutil.copystat(step["src"], dst, follow_symlinks=False)
        os.chmod(dst, step["mode"])
    if "owner" in step:
        os.chown(dst, *step["owner"], follow_symlinks=False)


COPY_FALLBACK = (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)


def _copy_fd(src: int, dst: int) -> None:
    """In-kernel copy (a reflink where the filesystem can); a plain copy where it
    cannot: across filesystems on older kernels, or filesystems without it."""
    try:
        while os.copy_file_range(src, dst, 1 << 30):
            pass
        return
    except OSError as e:
        if e.errno not in COPY_FALLBACK:
            raise
    while chunk := os.read(src, 1 << 20):  # both offsets stand where copy_file_range left them
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view):]


def _roll_back(journal: Path) -> None:
    """Reverse, newest first, every step that took effect; safe to interrupt and repeat.

    Steps run strictly one after another, so the steps that took effect are the
    done ones plus, perhaps, the one after them: only that one is judged from the
    disk, and the verdict is journaled before anything is reversed. Each reversal
    is journaled as well, so a repeated recovery judges from the disk only the one
    reversal that may have happened without its record; never a path that a later
    reversal brought back (a restored file where a folder was made, say).
    """
    entries = _read(journal)
    steps = [e for e in entries if "step" in e]
    verdict = next((e["rolling_back"] for e in entries if "rolling_back" in e), None)
    reversed_ = {e["reversed"] for e in entries if "reversed" in e}
    with open(journal, "a", encoding="utf-8") as log:
        if verdict is None:
            done = {e["done"] for e in entries if "done" in e}
            verdict = 0
            while verdict < len(steps) and steps[verdict]["step"] in done:
                verdict += 1
            if verdict < len(steps) and _took_effect(steps[verdict]):
                verdict += 1
            _append(log, [{"rolling_back": verdict}])
        todo = [s for s in reversed(steps[:verdict]) if s["step"] not in reversed_]
        for i, step in enumerate(todo):
            if i > 0 or not _reversed_already(step):
                _maybe_fault(_fault("rollback"), step["step"])
                _reverse(step)
            log.write(json.dumps({"reversed": step["step"]}) + "\n")
            log.flush()
        _fsync_parents(steps)
        _append(log, [{"rolled_back": True}])
    if entries[0].get("begin") == "apply":
        _remove_areas(entries[0]["private"][1:])


def _remove_areas(areas: list[str]) -> None:
    """An apply that did not happen leaves no staging area behind (in the user's
    folder, when the write root is on another filesystem): each is empty by now."""
    for area in areas:
        with contextlib.suppress(OSError):  # gone already; or not empty: what is inside is kept
            os.rmdir(area)


def _took_effect(step: dict) -> bool:
    """Whether `step` is done, given that every earlier step is done and no later one is."""
    op = step["op"]
    if op == "stage":
        return os.path.lexists(step["dst"])
    if op == "rename":
        return not os.path.lexists(step["src"]) and os.path.lexists(step["dst"])
    if op == "exchange":
        return os.lstat(step["a"]).st_ino == step["ino"]
    if op == "chmod":
        return mode_bits(os.lstat(step["path"]).st_mode) == step["mode"]
    return os.path.lexists(step["path"])  # mkdir


def _reversed_already(step: dict) -> bool:
    """Whether the reversal of `step` happened, given that it had taken effect and
    every later step is reversed (the one reversal a crash may have left unrecorded)."""
    op = step["op"]
    if op == "stage":
        return not os.path.lexists(step["dst"])
    if op == "rename":
        return not os.path.lexists(step["dst"]) and os.path.lexists(step["src"])
    if op == "exchange":
        return os.lstat(step["a"]).st_ino != step["ino"]
    if op == "chmod":
        return False  # setting the old mode again is harmless
    return not os.path.lexists(step["path"])  # mkdir


def _reverse(step: dict) -> None:
    op = step["op"]
    if op == "stage" and step.get("move"):
        rename_noreplace(step["dst"], step["src"])
    elif op == "stage":
        os.unlink(step["dst"])
    elif op == "rename":
        rename_noreplace(step["dst"], step["src"])
    elif op == "exchange":
        exchange(step["a"], step["b"])
    elif op == "chmod":
        _chmod_folder(step["path"], step["old"])
    else:
        os.rmdir(step["path"])


def _stamps(steps: list[dict], private: list[str]) -> dict[str, list | None]:
    """The final identity of every real path a step touched (the private areas
    left out); undo compares against it to notice later edits."""
    paths = set()
    for step in steps:
        if step["op"] == "rename":
            paths.update((step["src"], step["dst"]))
        elif step["op"] == "exchange":
            paths.add(step["b"])
        elif step["op"] == "mkdir":  # (a chmod'ed folder is simply set back)
            paths.add(step["path"])
    return {path: _final_stamp(path) for path in sorted(paths) if not any(path == q or path.startswith(q + os.sep) for q in private)}


def _append(log, entries: list[dict]) -> None:
    log.write("".join(json.dumps(e) + "\n" for e in entries))
    log.flush()
    os.fsync(log.fileno())


def _read(journal: Path) -> list[dict]:
    """The journal's complete lines; a torn last line (crash mid-write) is ignored."""
    try:
        text = journal.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for line in text.splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return entries


def _fsync_parents(steps: list[dict]) -> None:
    """Make the renames themselves durable, not just the files' contents."""
    folders = set()
    for step in steps:
        if step["op"] == "rename":
            folders.update((os.path.dirname(step["src"]), os.path.dirname(step["dst"])))
        elif step["op"] == "exchange":
            folders.update((os.path.dirname(step["a"]), os.path.dirname(step["b"])))
        else:
            folders.add(os.path.dirname(step.get("dst") or step["path"]))
    for folder in folders:
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):  # gone again by a later step
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _syncfs(folders: set[str]) -> None:
    """One syncfs(2) per filesystem instead of an fsync per staged file: far cheaper
    for many files, with the same guarantee for the renames that follow."""
    for folder in folders:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            if _libc.syncfs(fd) != 0:
                raise OSError(ctypes.get_errno(), f"syncfs {folder}")
        finally:
            os.close(fd)


def _fault(kind: str) -> int:
    """The step number of the test hook's fault of this kind ("" exit after, "fail", "rollback"), else -1."""
    value = os.environ.get(FAULT_ENV, "")
    want, _, number = value.rpartition(":")
    return int(number) if value and want == kind else -1


def _maybe_fault(fault: int, step: int) -> None:
    if fault == step:
        os._exit(70)


# ---------------------------------------------------------------- renameat2


_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100
_libc = ctypes.CDLL(None, use_errno=True)


def rename_noreplace(src: str, dst: str) -> None:
    """rename(2) that fails with EEXIST instead of replacing `dst` (renameat2)."""
    if _libc.renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{os.strerror(err)}: {src!r} -> {dst!r}") if err != errno.EEXIST else FileExistsError(err, os.strerror(err), dst)


def exchange(a: str, b: str) -> None:
    """Swap two paths in one atomic step (renameat2 RENAME_EXCHANGE)."""
    if _libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{os.strerror(err)}: {a!r} <-> {b!r}")


def exchange_works(folder: Path) -> bool:
    """Whether this filesystem can swap paths (ext4, xfs, btrfs, tmpfs can; some
    network filesystems cannot), tried once per filesystem on two scratch files."""
    device = os.stat(folder).st_dev
    if device not in _exchange_support:
        a, b = folder / ".exchange-probe-a", folder / ".exchange-probe-b"
        a.touch()
        b.touch()
        try:
            exchange(str(a), str(b))
            _exchange_support[device] = True
        except OSError:
            _exchange_support[device] = False
        finally:
            a.unlink()
            b.unlink()
    return _exchange_support[device]


_exchange_support: dict[int, bool] = {}
