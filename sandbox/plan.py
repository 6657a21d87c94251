"""What a previewed tool run would change: a plan computed from its write layers.

A tool in preview mode writes into a layer instead of the real files: an overlayfs
upper directory ("overlay" mode) or a full copy of the write root ("copy" mode).
`compute()` turns the layers into a `Plan`: files created, modified (with a capped
unified diff for text), deleted and renamed (a deletion and a creation with the same
content). It reads as little as it can: untouched files are never opened; hashed are
only deleted files, the originals of modified ones (the new content too when the size
is unchanged: it may be identical), and created files whose size could pair a rename.
Each touched original's identity (size, mtime_ns, inode) is recorded so that an
apply can refuse when someone changed the file after the preview.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import msgspec

from .errors import SandboxError

Kind = Literal["created", "modified", "deleted", "renamed"]
EntryType = Literal["file", "dir", "symlink"]

OPAQUE_XATTRS = ("user.overlay.opaque", "trusted.overlay.opaque")
WHITEOUT_XATTRS = ("user.overlay.whiteout", "trusted.overlay.whiteout")
DIFF_MAX_INPUT = 64 * 1024  # larger text files get no diff: difflib is quadratic-ish
DIFF_MAX_LINES = 400
PLAN_DIFF_BUDGET = 1024 * 1024  # total diff text kept in one plan
HASH_CHUNK = 1024 * 1024


class PlanError(SandboxError):
    """A layer holds something a plan cannot describe safely (device, FIFO, ...)."""


class Stamp(msgspec.Struct, frozen=True, array_like=True):
    """Identity of a file at one moment: any change to it changes one of these."""

    size: int
    mtime_ns: int
    ino: int


class Change(msgspec.Struct, kw_only=True, omit_defaults=True):
    kind: Kind
    type: EntryType
    root: str  # the write root (absolute directory) that `path` is relative to
    path: str
    old_path: str | None = None  # renames: where the content was before
    size_before: int | None = None
    size_after: int | None = None
    sha256_before: str | None = None
    sha256_after: str | None = None
    mode_before: int | None = None
    mode_after: int | None = None
    link_before: str | None = None  # symlinks: their target
    link_after: str | None = None
    diff: str | None = None
    stamp: Stamp | None = None  # the original (at old_path for renames) when previewed


class Layer(msgspec.Struct, kw_only=True):
    """One write root and the host folder that received the tool's writes to it."""

    target: str
    upper: str
    mode: Literal["overlay", "copy"]
    snapshot: str | None = None  # copy mode: stats of the fresh copy, see `prepare_copy`


class Plan(msgspec.Struct, kw_only=True):
    layers: list[Layer]
    changes: list[Change] = []

    def counts(self) -> dict[str, int]:
        out = {"created": 0, "modified": 0, "deleted": 0, "renamed": 0}
        for c in self.changes:
            out[c.kind] += 1
        return out

    def summary(self) -> str:
        counts = self.counts()
        text = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
        return text or "no changes"


class _Entry(msgspec.Struct, array_like=True):
    """A copied file as it was right after `prepare_copy` (copy and original)."""

    path: str
    type: EntryType
    copy_id: tuple[int, int, int, int, int]  # size, mtime_ns, ctime_ns, ino, mode
    stamp: Stamp


# ---------------------------------------------------------------- copy mode


def prepare_copy(target: str, upper: str, snapshot: str, owner: tuple[int, int] | None = None) -> None:
    """Fill `upper` with a full copy of `target` and record what each copy looks like.

    Comparing a copy's stat (ctime included, which nobody can set back) with this
    record later tells exactly which files the tool touched, without reading any.
    `owner` (uid, gid): who the copies belong to (root previewing for the sandbox's uid).
    """
    entries: list[_Entry] = []
    Path(upper).mkdir(parents=True, exist_ok=True)
    shutil.copystat(target, upper)
    if owner:
        os.chown(upper, *owner)
    for rel, st in _walk(target):
        src, dst = os.path.join(target, rel), os.path.join(upper, rel)
        kind = _type_of(st.st_mode)
        if kind not in ("file", "dir", "symlink"):
            raise PlanError(f"{src}: a {_describe(st.st_mode)} cannot be previewed; move it out of the write path")
        try:
            if kind == "dir":
                os.mkdir(dst)
                shutil.copystat(src, dst)
            elif kind == "symlink":
                os.symlink(os.readlink(src), dst)
            else:
                shutil.copy2(src, dst)
            if owner:
                os.chown(dst, *owner, follow_symlinks=False)
                if kind == "dir":
                    os.chmod(dst, stat.S_IMODE(st.st_mode))  # a chown drops a folder's setgid bit
        except OSError as e:
            raise PlanError(f"cannot copy {src} for the preview ({e.strerror}); fix its permissions or free some disk space") from e
        cst = os.lstat(dst)
        entries.append(_Entry(rel, kind, _copy_id(cst), Stamp(st.st_size, st.st_mtime_ns, st.st_ino)))
    Path(snapshot).write_bytes(msgspec.msgpack.encode(entries))


def _copy_id(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


# ---------------------------------------------------------------- computing a plan


def compute(layers: list[Layer]) -> Plan:
    """The plan for every layer, with renames paired by content within each root."""
    builder = _Builder()
    for layer in layers:
        if layer.mode == "overlay":
            builder.from_overlay(layer.target, layer.upper)
        else:
            builder.from_copy(layer.target, layer.upper, layer.snapshot)
    builder.pair_renames()
    builder.add_diffs()
    changes = sorted(builder.changes, key=lambda c: (c.root, c.path))
    return Plan(layers=layers, changes=changes)


class _Builder:
    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.sources: dict[int, str] = {}  # id(change) -> file holding the new content
        self.diff_budget = PLAN_DIFF_BUDGET

    # -- overlay: the upper dir lists exactly what the tool touched

    def from_overlay(self, target: str, upper: str, rel: str = "") -> None:
        with os.scandir(_listable(os.path.join(upper, rel) if rel else upper)) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            path = os.path.join(rel, entry.name) if rel else entry.name
            st = entry.stat(follow_symlinks=False)
            lower = _lstat(os.path.join(target, path))
            if _is_whiteout(entry.path, st):
                if lower is not None:
                    self._deleted_tree(target, path, lower)
                continue
            kind = _type_of(st.st_mode)
            if kind not in ("file", "dir", "symlink"):
                raise PlanError(f"the tool created {path!r}, a {_describe(st.st_mode)}; only files, folders and symlinks can be applied")
            if lower is not None and _type_of(lower.st_mode) != kind:
                self._deleted_tree(target, path, lower)
                lower = None
            if kind == "dir":
                if lower is None:
                    self._add(Change(kind="created", type="dir", root=target, path=path, mode_after=_perm(st)))
                else:
                    self._dir_mode(target, path, lower, st, _stamp(lower))
                    if _is_opaque(entry.path):
                        self._deleted_children(target, path, upper)
                self.from_overlay(target, upper, path)
            else:
                self._file_or_link(target, path, lower, entry.path, st)

    def _deleted_children(self, target: str, path: str, upper: str) -> None:
        """An opaque upper dir hides every lower child it does not itself contain."""
        for name in sorted(os.listdir(os.path.join(target, path))):
            child = os.path.join(path, name)
            if _lstat(os.path.join(upper, child)) is None:
                self._deleted_tree(target, child, os.lstat(os.path.join(target, child)))

    # -- copy: compare each copy with what it was right after copying

    def from_copy(self, target: str, upper: str, snapshot: str | None) -> None:
        if snapshot is None:
            raise PlanError(f"copy layer for {target} has no snapshot")
        before = {e.path: e for e in msgspec.msgpack.decode(Path(snapshot).read_bytes(), type=list[_Entry])}
        now: dict[str, str] = {}
        for path, st in _walk(upper, layer=True):
            kind = now[path] = _type_of(st.st_mode)
            if kind not in ("file", "dir", "symlink"):
                raise PlanError(f"the tool created {path!r}, a {_describe(st.st_mode)}; only files, folders and symlinks can be applied")
            old = before.get(path)
            if old is None or old.type != kind:
                if kind == "dir":
                    self._add(Change(kind="created", type="dir", root=target, path=path, mode_after=_perm(st)))
                else:
                    self._file_or_link(target, path, None, os.path.join(upper, path), st)
            elif kind == "dir":
                self._dir_mode(target, path, os.lstat(os.path.join(target, path)), st, old.stamp)
            elif _copy_id(st) != old.copy_id:
                lower = os.lstat(os.path.join(target, path))
                self._file_or_link(target, path, lower, os.path.join(upper, path), st, stamp=old.stamp)
        for path, old in before.items():
            if now.get(path) != old.type:
                self._deleted_from_snapshot(target, old)

    def _deleted_from_snapshot(self, target: str, old: _Entry) -> None:
        """A deletion described by the copy-time record, so later edits to the original show up at apply."""
        full = os.path.join(target, old.path)
        change = Change(kind="deleted", type=old.type, root=target, path=old.path, mode_before=mode_bits(old.copy_id[4]), stamp=old.stamp)
        if old.type == "file":
            change.size_before = old.stamp.size
        elif old.type == "symlink":
            change.link_before = _readlink(full)
        self._add(change, source=full)

    # -- shared

    def _file_or_link(self, target, path, lower, new_path, st, stamp=None) -> None:
        """A file or symlink in the layer: created, modified, or identical to the original."""
        kind = _type_of(st.st_mode)
        if kind == "file" and not os.access(new_path, os.R_OK):  # the tool left it 0200 or 000: its mode is noted
            os.chmod(new_path, stat.S_IMODE(st.st_mode) | 0o400)
        change = Change(kind="created", type=kind, root=target, path=path, mode_after=_perm(st))
        if kind == "symlink":
            change.link_after = os.readlink(new_path)
        else:
            change.size_after = st.st_size
        if lower is not None:
            orig = os.path.join(target, path)
            if kind == "symlink":
                if os.readlink(orig) == change.link_after:
                    return
                change.link_before = os.readlink(orig)
            else:
                change.size_before = lower.st_size
                change.sha256_before = sha256_file(orig)  # the apply checks it is still this content
                if lower.st_size == st.st_size:
                    change.sha256_after = sha256_file(new_path)
                    if change.sha256_before == change.sha256_after and _perm(lower) == change.mode_after:
                        return  # touched, not changed
            change.kind = "modified"
            change.mode_before = _perm(lower)
            change.stamp = stamp or _stamp(lower)
        self._add(change, source=new_path)

    def _dir_mode(self, target: str, path: str, lower: os.stat_result, st: os.stat_result, stamp: Stamp) -> None:
        """A folder that stayed a folder changes only by its permissions (its entries speak for themselves)."""
        if _perm(lower) != _perm(st):
            self._add(Change(kind="modified", type="dir", root=target, path=path, mode_before=_perm(lower), mode_after=_perm(st), stamp=stamp))

    def _deleted_tree(self, target: str, path: str, st: os.stat_result) -> None:
        """Record `path` as deleted, and everything below it when it is a folder."""
        self._deleted_one(target, path, st)
        if stat.S_ISDIR(st.st_mode):
            for rel, child in _walk(os.path.join(target, path)):
                self._deleted_one(target, os.path.join(path, rel), child)

    def _deleted_one(self, target: str, path: str, st: os.stat_result) -> None:
        kind = _type_of(st.st_mode)
        full = os.path.join(target, path)
        change = Change(kind="deleted", type=kind, root=target, path=path, mode_before=_perm(st), stamp=_stamp(st))
        if kind == "symlink":
            change.link_before = os.readlink(full)
        elif kind == "file":
            change.size_before = st.st_size
        self._add(change, source=full)

    def _add(self, change: Change, source: str | None = None) -> None:
        self.changes.append(change)
        if source is not None:
            self.sources[id(change)] = source

    def pair_renames(self) -> None:
        """Turn a deletion plus a creation of identical content into one rename.

        Only files whose size matches a file on the other side are hashed; a
        changed mode means the file was not merely moved. Within a group of equal
        contents the pairs sharing the longest path tail win; empty files, all
        alike, pair only when at least their names match.
        """
        created = [c for c in self.changes if c.kind == "created" and c.type == "file"]
        deleted = [c for c in self.changes if c.kind == "deleted" and c.type == "file"]
        sizes = {c.size_after for c in created} & {c.size_before for c in deleted}
        groups: dict[tuple, tuple[list[Change], list[Change]]] = {}
        for side, items in ((1, deleted), (0, created)):
            for c in items:
                size = c.size_before if side else c.size_after
                if size not in sizes:
                    continue
                digest = sha256_file(self.sources[id(c)])
                if side:
                    c.sha256_before = digest
                else:
                    c.sha256_after = digest
                groups.setdefault((c.root, size, digest, c.mode_before if side else c.mode_after), ([], []))[side].append(c)
        for (_, size, _, _), (news, olds) in groups.items():
            for new, old in _best_pairs(news, olds, min_score=1 if size == 0 else 0):
                self._pair(new, old)
        for d in deleted:
            if d.kind == "deleted" and d.sha256_before is None:
                d.sha256_before = sha256_file(self.sources[id(d)])

    def _pair(self, created: Change, deleted: Change) -> None:
        self.changes.remove(deleted)
        created.kind, created.old_path = "renamed", deleted.path
        created.size_before, created.sha256_before = deleted.size_before, deleted.sha256_before
        created.mode_before, created.stamp = deleted.mode_before, deleted.stamp

    def add_diffs(self) -> None:
        for c in self.changes:
            if c.type == "file" and c.kind in ("created", "modified"):
                c.diff = self._diff(c)

    def _diff(self, c: Change) -> str | None:
        if self.diff_budget <= 0 or (c.size_after or 0) > DIFF_MAX_INPUT or (c.size_before or 0) > DIFF_MAX_INPUT:
            return None
        new = _text(self.sources[id(c)])
        old = _text(os.path.join(c.root, c.path)) if c.kind == "modified" else ""
        if new is None or old is None:
            return None
        lines = list(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{c.path}", f"b/{c.path}"))
        if len(lines) > DIFF_MAX_LINES:
            lines = lines[:DIFF_MAX_LINES] + [f"... diff cut at {DIFF_MAX_LINES} lines\n"]
        text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
        self.diff_budget -= len(text)
        return text


def _best_pairs(news: list[Change], olds: list[Change], min_score: int) -> list[tuple[Change, Change]]:
    """Greedy matching, best-scored pairs first (score: common trailing path parts)."""
    if len(news) * len(olds) > 10_000:  # a huge group of identical files: match by name only
        by_name = {}
        for old in olds:
            by_name.setdefault(os.path.basename(old.path), []).append(old)
        scored = [(1, new, by_name[name].pop()) for new in news if by_name.get(name := os.path.basename(new.path))]
    else:
        scored = sorted(((_common_tail(n.path, o.path), n, o) for n in news for o in olds), key=lambda t: (-t[0], t[1].path, t[2].path))
    pairs, used = [], set()
    for score, new, old in scored:
        if score >= min_score and id(new) not in used and id(old) not in used:
            used.update((id(new), id(old)))
            pairs.append((new, old))
    return pairs


def _common_tail(a: str, b: str) -> int:
    n = 0
    for x, y in zip(reversed(a.split("/")), reversed(b.split("/"))):
        if x != y:
            break
        n += 1
    return n


# ---------------------------------------------------------------- small helpers


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def stamp_of(path: str) -> Stamp | None:
    st = _lstat(path)
    return None if st is None else _stamp(st)


def _stamp(st: os.stat_result) -> Stamp:
    return Stamp(st.st_size, st.st_mtime_ns, st.st_ino)


def _walk(top: str, rel: str = "", layer: bool = False) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry below `top` (parents before children), never following symlinks.
    In a `layer`, folders the tool locked are opened up (after their mode was read)."""
    folder = os.path.join(top, rel) if rel else top
    with os.scandir(_listable(folder) if layer else folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        path = os.path.join(rel, entry.name) if rel else entry.name
        st = entry.stat(follow_symlinks=False)
        yield path, st
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(top, path, layer)


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _listable(folder: str) -> str:
    """A layer folder the tool left unreadable (say mode 0) is made readable to us;
    its mode as the tool left it was read before, from its parent's listing."""
    if not os.access(folder, os.R_OK | os.X_OK):
        os.chmod(folder, stat.S_IMODE(os.lstat(folder).st_mode) | 0o700)
    return folder


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _type_of(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "other"


def _describe(mode: int) -> str:
    for test, name in ((stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def _perm(st: os.stat_result) -> int:
    return mode_bits(st.st_mode)


def mode_bits(st_mode: int) -> int:
    """The mode bits a plan carries: a folder's setgid and sticky bits (shared and
    drop folders) besides the permissions; never setuid, and never a file's setgid
    (the content is the tool's: applied by root, it must not become privileged)."""
    return stat.S_IMODE(st_mode) & (0o3777 if stat.S_ISDIR(st_mode) else 0o777)


def _is_whiteout(path: str, st: os.stat_result) -> bool:
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0):
        return True
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        return any(_getxattr(path, name) is not None for name in WHITEOUT_XATTRS)
    return False


def _is_opaque(path: str) -> bool:
    return any(_getxattr(path, name) == b"y" for name in OPAQUE_XATTRS)


def _getxattr(path: str, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


def _text(path: str) -> str | None:
    data = Path(path).read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
