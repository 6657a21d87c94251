"""A memory limit for a whole run, where the kernel lets this process make a cgroup.

RLIMIT_AS limits each process; four processes of one run may use four times
``memory_mb``. A memory cgroup made for the run counts every process in it
together. cgroup v2 is used when its memory controller is delegated to our
cgroup (``memory`` in our ``cgroup.subtree_control``), else cgroup v1's memory
hierarchy where it is mounted and writable (root, typically). The sandbox child
joins the cgroup first thing, before it starts anything, so no process of the
run escapes it; the launcher removes it once the run has ended.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path

_counter = itertools.count()


@dataclass
class RunCgroup:
    path: Path
    version: int

    @property
    def procs(self) -> str:
        """The file the child writes "0" to, to move itself in."""
        return str(self.path / "cgroup.procs")

    def describe(self, memory_mb: int) -> str:
        return f"{memory_mb} MiB for the whole run, every process together (cgroup v{self.version})"

    def remove(self) -> None:
        """Remove the cgroup; its processes are gone, but the kernel may take a moment to see it."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)


def create(memory_mb: int) -> tuple[RunCgroup | None, str]:
    """A fresh cgroup limited to ``memory_mb``, or None and why there is none."""
    reasons = []
    for version, parent in ((2, _v2_parent()), (1, _v1_parent())):
        if isinstance(parent, str):
            reasons.append(parent)
            continue
        group = RunCgroup(parent / f"toolsmith-{os.getpid()}-{next(_counter)}", version)
        try:
            group.path.mkdir()
        except OSError as e:
            reasons.append(f"cgroup v{version}: cannot create a cgroup in {parent} ({e.strerror})")
            continue
        try:
            _limit(group, memory_mb << 20)
        except OSError as e:
            group.remove()
            reasons.append(f"cgroup v{version}: cannot set the memory limit ({e.strerror})")
            continue
        return group, ""
    return None, "; ".join(reasons)


def _limit(group: RunCgroup, limit: int) -> None:
    if group.version == 2:
        (group.path / "memory.max").write_text(str(limit))
        with contextlib.suppress(FileNotFoundError):
            (group.path / "memory.swap.max").write_text("0")
        return
    (group.path / "memory.limit_in_bytes").write_text(str(limit))
    with contextlib.suppress(FileNotFoundError):  # swap accounting is off on many kernels
        (group.path / "memory.memsw.limit_in_bytes").write_text(str(limit))


def _v2_parent() -> Path | str:
    parent = _own_folder("cgroup2", None, lambda controllers: controllers == "")
    if parent is None:
        return "cgroup v2 is not mounted"
    try:
        delegated = "memory" in (parent / "cgroup.subtree_control").read_text().split()
    except OSError:
        delegated = False
    if not delegated:
        return "cgroup v2: the memory controller is not delegated to this process's cgroup"
    return parent


def _v1_parent() -> Path | str:
    parent = _own_folder("cgroup", "memory", lambda controllers: "memory" in controllers.split(","))
    if parent is None:
        return "cgroup v1: no memory hierarchy is mounted"
    if not os.access(parent, os.W_OK):
        return f"cgroup v1: {parent} is not writable by this user"
    return parent


def _own_folder(fstype: str, option: str | None, matches) -> Path | None:
    """The folder of this process's own cgroup: the hierarchy's mount point (the first
    ``fstype`` mount with ``option`` among its super options) joined with our path in
    it, less the part of the hierarchy the mount does not show (in containers)."""
    own = _own_cgroup(matches)
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        after = fields[fields.index("-") + 1:]
        if own is not None and after[0] == fstype and (option is None or option in after[2].split(",")):
            root = fields[3].rstrip("/")
            inside = own[len(root):] if root and own.startswith(root + "/") else own
            return Path(fields[4]) / inside.lstrip("/")
    return None


def _own_cgroup(matches) -> str | None:
    """This process's cgroup path in the hierarchy whose controller list ``matches``."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if matches(controllers):
            return path
    return None
