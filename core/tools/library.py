"""The tool library: one folder per tool, every saved version kept, writes crash-safe.

Layout under ``paths.tools_dir()``::

    NAME/tool.toml            current manifest
    NAME/tool.py              current source (file name set by the tool's language)
    NAME/.history/0001/       every saved version, complete and immutable
    NAME/.history/pending     present only while a save installs a version

A save first writes the complete version into ``.history`` (temp folder, then one
rename), then marks it pending, then replaces the current files one by one. If the
process dies in between, the next access finds the pending mark and finishes the
install from the snapshot, so a tool is always wholly the old or wholly the new version.
"""

import datetime as dt
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from ..base import atomic, paths
from ..base import manifest as manifest_module
from ..base.errors import ToolsmithError
from ..base.manifest import MANIFEST_FILE, Manifest, check_name
from .languages import get_language, languages

HISTORY = ".history"
PENDING = "pending"


class LibraryError(ToolsmithError):
    pass


class Tool(msgspec.Struct, frozen=True):
    manifest: Manifest
    source: str
    path: Path

    @property
    def source_path(self) -> Path:
        return self.path / get_language(self.manifest.language).source_file


class Version(msgspec.Struct, frozen=True):
    number: int
    saved: dt.datetime
    origin: str
    description: str


class TrashEntry(msgspec.Struct, frozen=True):
    id: str
    name: str
    removed: dt.datetime


class Library:
    def __init__(self, root: Path | None = None, trash: Path | None = None):
        self.root = root or paths.tools_dir()
        self.trash_root = trash or paths.trash_dir()

    # -- reading -----------------------------------------------------------------

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / MANIFEST_FILE).exists() or (p / HISTORY).is_dir())

    def exists(self, name: str) -> bool:
        return (self._folder(name) / HISTORY).is_dir()

    def load(self, name: str) -> Tool:
        folder = self._existing(name)
        with self._lock(folder):
            self._recover(folder)
            manifest = self._read_manifest(folder / MANIFEST_FILE)
            source_file = folder / get_language(manifest.language).source_file
            try:
                source = source_file.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise LibraryError(f"tool {name!r} has no {source_file.name}; restore a version with `toolsmith restore {name} N`") from None
        return Tool(manifest, source, folder)

    def tools(self) -> Iterator[Tool]:
        """Every tool that loads; see `scan` for the folders that do not."""
        yield from self.scan()[0]

    def scan(self) -> tuple[list[Tool], list[tuple[Path, str]]]:
        """The tools, and each folder of the tools folder that is not one (a bad
        name, a broken tool.toml) with why: one bad folder must not hide the rest."""
        tools, problems = [], []
        for name in self.names():
            try:
                tools.append(self.load(name))
            except ToolsmithError as e:
                problems.append((self.root / name, str(e)))
        return tools, problems

    def history(self, name: str) -> list[Version]:
        folder = self._existing(name)
        versions = []
        for number in self._version_numbers(folder):
            m = self._read_manifest(self._snapshot(folder, number) / MANIFEST_FILE)
            versions.append(Version(number, m.updated, m.origin, m.description))
        return versions

    def version(self, name: str, number: int) -> Tool:
        folder = self._existing(name)
        snapshot = self._snapshot(folder, number)
        if not snapshot.is_dir():
            known = ", ".join(map(str, self._version_numbers(folder)))
            raise LibraryError(f"tool {name!r} has no version {number} (versions: {known})")
        m = self._read_manifest(snapshot / MANIFEST_FILE)
        source = (snapshot / get_language(m.language).source_file).read_text(encoding="utf-8")
        return Tool(m, source, folder)

    # -- writing -----------------------------------------------------------------

    def save(self, manifest: Manifest, source: str, *, new: bool = False) -> int:
        """Save a new version of the tool; returns its version number.

        `new=True` refuses to overwrite an existing tool of the same name.
        """
        check_name(manifest.name)
        source_file = get_language(manifest.language).source_file
        folder = self._folder(manifest.name)
        if new:
            self._claim(folder)
        (folder / HISTORY).mkdir(parents=True, exist_ok=True)
        with self._lock(folder):
            self._recover(folder)
            number = (self._version_numbers(folder) or [0])[-1] + 1
            files = {MANIFEST_FILE: manifest_module.encode(manifest), source_file: source.encode("utf-8")}
            self._write_snapshot(folder, number, files)
            atomic.write_text(folder / HISTORY / PENDING, str(number))
            self._install(folder, number)
        return number

    def restore(self, name: str, number: int) -> int:
        """Make an earlier version current again, as a new version (history is kept)."""
        old = self.version(name, number)
        m = msgspec.structs.replace(old.manifest, updated=manifest_module.now())
        return self.save(m, old.source)

    def remove(self, name: str) -> TrashEntry:
        """Move the tool, history included, to the trash."""
        folder = self._existing(name)
        removed = manifest_module.now()
        entry_id = f"{name}--{removed.strftime('%Y%m%dT%H%M%S')}"
        target = self.trash_root / entry_id
        suffix = 1
        while target.exists():
            suffix += 1
            target = self.trash_root / f"{entry_id}-{suffix}"
        self.trash_root.mkdir(parents=True, exist_ok=True)
        os.rename(folder, target)
        atomic.fsync_dir(self.root)
        return TrashEntry(target.name, name, removed)

    def trash(self) -> list[TrashEntry]:
        if not self.trash_root.is_dir():
            return []
        entries = []
        for p in sorted(self.trash_root.iterdir()):
            name, _, stamp = p.name.partition("--")
            removed = dt.datetime.strptime(stamp[:15], "%Y%m%dT%H%M%S").replace(tzinfo=dt.timezone.utc)
            entries.append(TrashEntry(p.name, name, removed))
        return entries

    def untrash(self, name_or_id: str) -> str:
        """Put a trashed tool back (the newest one with that name, or the exact entry id)."""
        matches = [e for e in self.trash() if name_or_id in (e.id, e.name)]
        if not matches:
            raise LibraryError(f"nothing named {name_or_id!r} in the trash (see `toolsmith trash list`)")
        entry = max(matches, key=lambda e: e.id)
        if self.exists(entry.name):
            raise LibraryError(f"a tool named {entry.name!r} exists again; remove or rename it first")
        self.root.mkdir(parents=True, exist_ok=True)
        os.rename(self.trash_root / entry.id, self._folder(entry.name))
        atomic.fsync_dir(self.root)
        return entry.name

    # -- internals ---------------------------------------------------------------

    def _folder(self, name: str) -> Path:
        return self.root / check_name(name)

    def _existing(self, name: str) -> Path:
        folder = self._folder(name)
        if not (folder / HISTORY).is_dir():
            raise LibraryError(f"no tool named {name!r} (see `toolsmith list`)")
        return folder

    @staticmethod
    def _snapshot(folder: Path, number: int) -> Path:
        return folder / HISTORY / f"{number:04d}"

    @staticmethod
    def _version_numbers(folder: Path) -> list[int]:
        return sorted(int(p.name) for p in (folder / HISTORY).iterdir() if p.name.isdigit())

    @staticmethod
    def _read_manifest(path: Path) -> Manifest:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise LibraryError(f"{path} is missing") from None
        return manifest_module.decode(data, str(path))

    def _write_snapshot(self, folder: Path, number: int, files: dict[str, bytes]) -> None:
        history = folder / HISTORY
        tmp = history / f".tmp-{number:04d}-{os.getpid()}"
        tmp.mkdir()
        for name, data in files.items():
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        atomic.fsync_dir(tmp)
        os.rename(tmp, self._snapshot(folder, number))
        atomic.fsync_dir(history)

    def _install(self, folder: Path, number: int) -> None:
        """Copy a snapshot's files into place, then clear the pending mark."""
        snapshot = self._snapshot(folder, number)
        keep = {p.name for p in snapshot.iterdir()}
        for p in snapshot.iterdir():
            atomic.write_bytes(folder / p.name, p.read_bytes())
        for language in languages().values():  # the source of a previous language
            if language.source_file not in keep:
                (folder / language.source_file).unlink(missing_ok=True)
        (folder / HISTORY / PENDING).unlink()
        atomic.fsync_dir(folder / HISTORY)

    def _recover(self, folder: Path) -> None:
        """Finish a save that a crash interrupted; drop snapshots that never completed."""
        history = folder / HISTORY
        for tmp in history.glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        pending = history / PENDING
        if pending.exists():
            self._install(folder, int(pending.read_text()))

    def _claim(self, folder: Path) -> None:
        """Make the name ours, or refuse: of two saves of one new name, exactly one
        wins. `.history` is created exclusively; the loser sees it exists."""
        folder.mkdir(parents=True, exist_ok=True)
        try:
            (folder / HISTORY).mkdir()
        except FileExistsError:
            raise LibraryError(f"a tool named {folder.name!r} already exists; pick another name or edit it") from None

    @staticmethod
    @contextmanager
    def _lock(folder: Path):
        with open(folder / HISTORY / ".lock", "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
