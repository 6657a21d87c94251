"""Helpers for the preview/apply/undo tests: build trees, mutate them the way a
tool would (under a real overlayfs, or in a copy), and snapshot them independently
of the code under test."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from toolsmith.sandbox.plan import Layer, compute, prepare_copy

# A tool's work, run as a separate process on `root` (sys.argv[1]): every kind of change.
MUTATE = r"""
import os, shutil, sys
root = sys.argv[1]
j = lambda *p: os.path.join(root, *p)
open(j("notes.txt"), "a").write("a new line\n")                 # edit text
open(j("new.txt"), "w").write("hello\n")                         # create text
os.makedirs(j("fresh", "deep"))                                  # nested new folders
open(j("fresh", "deep", "blob.bin"), "wb").write(bytes(range(256)) * 4)
open(j("fresh", "empty"), "w").close()                           # empty file
os.remove(j("old.log"))                                          # delete
os.rename(j("photo.jpg"), j("2024-photo.jpg"))                   # rename a binary file
shutil.move(j("docs"), j("papers"))                              # rename a folder (copy + delete under overlayfs)
shutil.rmtree(j("cache"))                                        # delete a folder tree
with open(j("data.bin"), "r+b") as f:                            # edit binary in place
    f.seek(3); f.write(b"\xff\xfe")
os.symlink("notes.txt", j("link-to-notes"))                      # new symlink
os.remove(j("current")); os.symlink("papers/a.txt", j("current"))  # retarget a symlink
os.remove(j("was-file")); os.mkdir(j("was-file")); open(j("was-file", "x"), "w").write("x")  # file -> folder
shutil.rmtree(j("was-dir")); open(j("was-dir"), "w").write("now a file\n")                    # folder -> file
os.chmod(j("script.sh"), 0o755)                                  # mode only
os.chmod(j("private"), 0o700)                                    # a folder's mode
open(j("same.txt"), "w").write("unchanged\n")                    # rewritten, same content
"""


def make_tree(root: Path) -> None:
    """A write root holding one example of everything MUTATE touches."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "notes.txt").write_text("first line\nsecond line\n")
    (root / "old.log").write_text("log\n" * 50)
    (root / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(5000))
    (root / "data.bin").write_bytes(os.urandom(64))
    (root / "docs" / "sub").mkdir(parents=True)
    (root / "docs" / "a.txt").write_text("paper a\n")
    (root / "docs" / "sub" / "b.txt").write_text("paper b\n")
    (root / "docs" / "sub" / "empty").write_bytes(b"")
    (root / "cache" / "x").mkdir(parents=True)
    for i in range(3):
        (root / "cache" / "x" / f"{i}.tmp").write_bytes(os.urandom(100 + i))
    os.symlink("notes.txt", root / "current")
    (root / "was-file").write_text("a file\n")
    (root / "was-dir").mkdir()
    (root / "was-dir" / "inner.txt").write_text("inner\n")
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(root / "script.sh", 0o644)
    (root / "same.txt").write_text("unchanged\n")
    (root / "untouched.txt").write_text("never opened\n")
    (root / "private").mkdir()
    os.chmod(root / "private", 0o755)
    (root / "private" / "diary.txt").write_text("dear diary\n")


def snapshot(root: Path) -> dict:
    """Every entry below `root`: type, permission bits, and content or link target."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            full = os.path.join(folder, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("file", stat.S_IMODE(st.st_mode), Path(full).read_bytes(), st.st_mtime_ns)
    return out


def without_mtimes(snap: dict, hide: str | None = None) -> dict:
    """`snap` less file mtimes (and less entries under a top-level name starting with `hide`)."""
    return {k: v[:3] if v[0] == "file" else v for k, v in snap.items() if not (hide and k.startswith(hide))}


def expected_after(root: Path, tmp: Path, script: str = MUTATE) -> dict:
    """What `script` does to a plain copy of `root`, run directly (no sandbox, no plan)."""
    copy = tmp / "expected"
    shutil.copytree(root, copy, symlinks=True)
    run_script(script, copy)
    return without_mtimes(snapshot(copy))


def run_script(script: str, root: Path) -> None:
    subprocess.run([sys.executable, "-c", script, str(root)], check=True)


def overlay_preview(target: Path, layer_dir: Path, script: str = MUTATE) -> Layer:
    """Run `script` on `target` through a real overlayfs mounted over it in a user
    and mount namespace (as the launcher does); the real files stay untouched."""
    upper, work = layer_dir / "upper", layer_dir / "work"
    upper.mkdir(parents=True)
    work.mkdir()
    mount = f"mount -t overlay overlay -o lowerdir={target},upperdir={upper},workdir={work},userxattr {target}"
    subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", f'{mount} && exec "$0" -c "$1" "$2"', sys.executable, script, str(target)], check=True)
    return Layer(target=str(target), upper=str(upper), mode="overlay")


def copy_preview(target: Path, layer_dir: Path, script: str = MUTATE) -> Layer:
    """The degraded mode: a full copy of `target`, mutated in place of the real files."""
    layer_dir.mkdir(parents=True)
    upper, snap = layer_dir / "upper", layer_dir / "snapshot"
    prepare_copy(str(target), str(upper), str(snap))
    run_script(script, upper)
    return Layer(target=str(target), upper=str(upper), mode="copy", snapshot=str(snap))


PREVIEWS = {"overlay": overlay_preview, "copy": copy_preview}


def preview(mode: str, target: Path, layer_dir: Path, script: str = MUTATE):
    return compute([PREVIEWS[mode](target, layer_dir, script)])
