"""Run a command in the sandbox with a preview of its file changes; apply; undo.

The run service (toolsmith.core.tools.run_service) calls this with the folder that
holds the runs (``root``; Toolsmith passes ``data_dir()/runs``). Each run keeps its state
under ``root/RUN_ID/``: ``run.json`` (command, exit code, usage, plan),
``stdout``/``stderr``, ``layers/`` (what the tool wrote, until applied), the
trash and staging ``area/``, and the apply/undo journals. The state of a run is
derived from its journals, so it is right even after a crash:

    previewed --apply--> applied --undo--> undone
    previewed --(preview_days pass)--> expired: its layers are removed
    direct: ran on the real files (preview=False); nothing to apply or undo
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec

from . import journal
from .errors import SandboxError
from .plan import Layer, Plan, compute, prepare_copy

if TYPE_CHECKING:
    from .policy import Overlay, Policy

State = Literal["previewed", "expired", "applied", "undone", "direct"]
PREVIEW_DAYS = 7.0  # how long a preview keeps its layers (config: [sandbox] preview_days)
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")
DIRECT_NOTE = "ran directly on the write paths: no preview, nothing to apply or undo"


class RunError(SandboxError):
    """A run cannot be found, applied or undone in its current state."""


class RunRecord(msgspec.Struct, kw_only=True):
    """What `run.json` holds."""

    run_id: str
    command: list[str]
    created: str
    write_paths: list[str]
    preview: bool
    exit_code: int
    read_paths: list[str] = []  # what the run could read (its write paths aside), as granted
    network: bool = False
    timed_out: bool = False
    killed: bool = False
    usage: dict[str, float] | None = None
    plan: Plan | None = None


class RunResult(msgspec.Struct, kw_only=True):
    """What run/apply/undo/get return: the run as it stands now."""

    run_id: str
    state: State
    plan: Plan | None
    stdout: bytes
    stderr: bytes
    exit_code: int
    timed_out: bool
    killed: bool
    usage: dict[str, float] | None
    note: str = ""
    read_paths: list[str] = []
    write_paths: list[str] = []
    network: bool = False


class RunSummary(msgspec.Struct, kw_only=True):
    """One line of `list_runs()`."""

    run_id: str
    state: State
    command: list[str]
    created: str
    exit_code: int
    changes: str


# ---------------------------------------------------------------- API


def run(root: Path, command: list[str], policy: Policy, preview: bool = True, preview_days: float = PREVIEW_DAYS,
        on_output: Callable[[str, bytes], None] | None = None) -> RunResult:
    """Run `command` under `policy`; with preview, its writes land in layers and
    the result carries the plan; nothing real changes until `apply(run_id)`.
    Previews older than `preview_days` lose their layers (swept at most daily).
    `on_output` sees the command's output as it comes (see launcher.execute)."""
    from .launcher import execute

    _refuse_own_folder(root, policy)
    recover(root)
    _sweep_expired(root, preview_days)
    if preview:
        policy = dataclasses.replace(policy, write_paths=_write_roots(policy.write_paths))
    run_dir = _new_run_dir(root)
    try:
        layers, overlays = _prepare_layers(policy.write_paths, run_dir) if preview else ([], [])
        result = execute(command, policy, overlays=overlays, on_output=on_output)
        if result.over_quota:
            raise RunError(_quota_message(result.over_quota, policy))
        plan = compute(layers) if preview else None
        record = RunRecord(
            run_id=run_dir.name,
            command=list(command),
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            write_paths=[os.path.realpath(p) for p in policy.write_paths],
            read_paths=[os.path.realpath(p) for p in policy.read_paths],
            network=policy.network,
            preview=preview,
            exit_code=result.exit_code,
            timed_out=result.timed_out,
            killed=result.killed,
            usage={k: float(v) for k, v in dataclasses.asdict(result.usage).items()} if result.usage else None,
            plan=plan,
        )
        (run_dir / "stdout").write_bytes(result.stdout or b"")
        (run_dir / "stderr").write_bytes(result.stderr or b"")
        _save(run_dir, record)
    except BaseException:
        _remove_tree(run_dir)  # nothing ran, or nothing can be applied (disk full, say): keep no half run
        raise
    return _result(run_dir, record)


def _refuse_own_folder(root: Path, policy: Policy) -> None:
    """The runs folder is never given to a run: a tool able to write there could plant
    a record or journal that the next recovery acts on."""
    own = os.path.realpath(root)
    for path in [*policy.read_paths, *policy.write_paths]:
        real = os.path.realpath(path)
        if real == own or real.startswith(own.rstrip("/") + "/") or own.startswith(real.rstrip("/") + "/"):
            raise RunError(f"cannot grant {path!r}: it overlaps the runs folder {own} (rule: toolsmith's own folders)")


def _quota_message(which: str, policy: Policy) -> str:
    limit = f"{policy.preview_mb} MiB ([sandbox] preview_mb)" if which == "bytes" else f"{policy.preview_files} new files and folders ([sandbox] preview_files)"
    return (f"the preview was stopped: what the tool wrote passed the quota of {limit}; nothing was changed. "
            "Give the tool a smaller folder, or raise the limit in the config")


def apply(root: Path, run_id: str) -> RunResult:
    """Commit a previewed run's plan to the real files (see `journal.apply`)."""
    recover(root)
    run_dir, record = _load(root, run_id)
    state = _state(run_dir, record)
    if state == "expired":
        raise RunError(f"run {run_id} expired: a preview keeps what the tool wrote for [sandbox] preview_days days only; run the tool again")
    if state != "previewed":
        raise RunError(f"run {run_id} is {state}; only a previewed run can be applied" + (f" ({DIRECT_NOTE})" if state == "direct" else ""))
    with _active(run_dir):
        journal.apply(record.plan, run_dir)
    _remove_tree(run_dir / "layers")
    return _result(run_dir, record)


def undo(root: Path, run_id: str | None = None, force: bool = False) -> RunResult:
    """Restore the files as they were before `run_id` (default: the latest applied run)."""
    recover(root)
    if run_id is None:
        run_id = _latest_applied(root)
    run_dir, record = _load(root, run_id)
    state = _state(run_dir, record)
    if state != "applied":
        raise RunError(f"run {run_id} is {state}; only an applied run can be undone" + (f" ({DIRECT_NOTE})" if state == "direct" else ""))
    with _active(run_dir):
        journal.undo(run_dir, force=force, roots=record.write_paths)
    return _result(run_dir, record)


def recover(root: Path) -> list[str]:
    """Roll back every apply or undo that a crash interrupted; one line per run fixed
    (or that could not be fixed: one damaged run must not block every other).

    Only the runs marked active are looked at (an apply or undo marks its run before
    it starts and unmarks it once it ended), so this costs nothing with many runs."""
    _adopt_unmarked(root)
    fixed = []
    for marker in _markers(root, ACTIVE):
        run_dir = root / marker
        try:
            what = journal.recover(run_dir, roots=_load(root, marker)[1].write_paths)
        except (OSError, SandboxError) as e:
            fixed.append(f"run {run_dir.name}: an interrupted apply or undo could not be rolled back ({e}); see {run_dir}")
            continue
        if what:
            fixed.append(f"run {run_dir.name}: interrupted {what} rolled back")
        _settle(run_dir)
    return fixed


def prune(root: Path, older_than_days: float) -> tuple[list[str], list[str]]:
    """Remove the runs created more than `older_than_days` ago, and half-made run
    folders, except applied runs: their trash is what undo needs. Returns the ids
    removed and the ids kept for undo."""
    recover(root)
    cutoff = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() - older_than_days * 86400))
    removed, kept = [], []
    for run_dir in sorted(_run_dirs(root)):
        if run_dir.name[:15] >= cutoff:
            continue
        if journal.committed(run_dir / journal.APPLY) and not journal.committed(run_dir / journal.UNDO):
            kept.append(run_dir.name)
            continue
        try:
            with journal.locked(run_dir, wait=False):
                _remove_tree(run_dir)
        except BlockingIOError:  # being applied or undone right now
            continue
        removed.append(run_dir.name)
    return removed, kept


def get(root: Path, run_id: str) -> RunResult:
    run_dir, record = _load(root, run_id)
    return _result(run_dir, record)


def list_runs(root: Path, limit: int | None = None) -> list[RunSummary]:
    """Runs, newest first."""
    out = []
    try:
        names = sorted(os.listdir(root), reverse=True)  # plain names: cheap with thousands of runs
    except FileNotFoundError:
        names = []
    for name in [n for n in names if RUN_ID.match(n)][:limit]:
        try:
            run_dir, record = _load(root, name)
        except RunError:
            continue  # a run still being created, or a damaged one: skip it
        out.append(
            RunSummary(
                run_id=record.run_id,
                state=_state(run_dir, record),
                command=record.command,
                created=record.created,
                exit_code=record.exit_code,
                changes=record.plan.summary() if record.plan else "not previewed",
            )
        )
    return out


# ---------------------------------------------------------------- layers


def _prepare_layers(roots: list[str], run_dir: Path) -> tuple[list[Layer], list[Overlay]]:
    """One layer per write root: an empty overlay upper, or in copy mode a full copy."""
    from .launcher import SANDBOX_UID, overlay_mode
    from .policy import Overlay

    ids = (SANDBOX_UID, SANDBOX_UID) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    layers, overlays = [], []
    for i, target in enumerate(roots):
        mode = overlay_mode()
        if mode == "overlay" and _foreign_owner(target, ids):
            mode = "copy"
        layer_dir = run_dir / "layers" / str(i)
        upper, work = layer_dir / "upper", layer_dir / "work"
        work.mkdir(parents=True)
        snapshot = None
        if mode == "copy":  # the record stays outside every folder the sandbox is given
            snapshot = str(run_dir / "layers" / f"{i}.snapshot")
            prepare_copy(target, str(upper), snapshot, owner=ids if os.geteuid() == 0 else None)
        else:
            upper.mkdir()
        layers.append(Layer(target=target, upper=str(upper), mode=mode, snapshot=snapshot))
        overlays.append(Overlay(target=target, upper=str(upper), work=str(work), copy=mode == "copy"))
    return layers, overlays


def _foreign_owner(target: str, ids: tuple[int, int]) -> bool:
    """Whether anything in `target` belongs to another uid or gid than the sandbox's:
    overlayfs cannot copy such an entry up (EOVERFLOW, the user namespace maps only
    the sandbox's own ids), so that tree is previewed as a copy the sandbox owns."""
    st = os.lstat(target)
    if (st.st_uid, st.st_gid) != ids:
        return True
    for folder, dirs, files in os.walk(target):
        for name in dirs + files:
            st = os.lstat(os.path.join(folder, name))
            if (st.st_uid, st.st_gid) != ids:
                return True
    return False


def _write_roots(write_paths: list[str]) -> list[str]:
    """The folders to preview: the write paths, less those inside another one
    (the outer layer covers them; a separate writable bind would bypass it)."""
    roots = set()
    for p in write_paths:
        real = os.path.realpath(p)
        if not os.path.isdir(real):
            raise RunError(f"cannot preview writes to {p!r}: it is not a folder; give its folder as the write path, or run without preview")
        roots.add(real)
    return sorted(r for r in roots if not any(r != o and r.startswith(o.rstrip("/") + "/") for o in roots))


# ---------------------------------------------------------------- storage


def _new_run_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    while True:
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)
        try:
            (root / run_id).mkdir()
            return root / run_id
        except FileExistsError:
            continue


def _run_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in root.iterdir() if RUN_ID.match(p.name)]


def _save(run_dir: Path, record: RunRecord) -> None:
    tmp = run_dir / "run.json.tmp"
    tmp.write_bytes(_encode(record))
    os.replace(tmp, run_dir / "run.json")


def _encode(record: RunRecord) -> bytes:
    """JSON of the record. A file name that is not UTF-8 reaches us with its bytes as
    lone surrogates (surrogateescape), which msgspec refuses: the standard library
    writes those as \\udcXX escapes, and reads them back into the same names."""
    try:
        return msgspec.json.encode(record)
    except UnicodeEncodeError:
        return json.dumps(msgspec.to_builtins(record)).encode()


def _decode(data: bytes) -> RunRecord:
    if b"\\ud" in data:  # (msgspec writes UTF-8 as is: only `_encode`'s fallback escapes surrogates)
        return msgspec.convert(json.loads(data), type=RunRecord)
    return msgspec.json.decode(data, type=RunRecord)


def _load(root: Path, run_id: str) -> tuple[Path, RunRecord]:
    if not RUN_ID.match(run_id):
        raise RunError(f"{run_id!r} is not a run id (like 20261126-101502-ab12); see `toolsmith runs`")
    run_dir = root / run_id
    try:
        return run_dir, _decode((run_dir / "run.json").read_bytes())
    except FileNotFoundError:
        raise RunError(f"no run {run_id}; see `toolsmith runs`") from None
    except msgspec.ValidationError as e:
        raise RunError(f"run {run_id} has a damaged run.json ({e}); remove {run_dir}") from None


def _state(run_dir: Path, record: RunRecord) -> State:
    if not record.preview:
        return "direct"
    if journal.committed(run_dir / journal.UNDO):
        return "undone"
    if journal.committed(run_dir / journal.APPLY):
        return "applied"
    if record.plan is not None and record.plan.changes and not (run_dir / "layers").exists():
        return "expired"
    return "previewed"


def _latest_applied(root: Path) -> str:
    applied = [root / name for name in _markers(root, APPLIED)]
    applied = [d for d in applied if journal.committed(d / journal.APPLY) and not journal.committed(d / journal.UNDO)]
    if not applied:
        raise RunError("no applied run to undo; see `toolsmith runs`")
    return max(applied, key=lambda d: (d / journal.APPLY).stat().st_mtime_ns).name


# Markers: empty files named after a run, so that recovery and `undo` look only at
# the few runs concerned, never at every run kept.
ACTIVE, APPLIED = ".active", ".applied"


def _markers(root: Path, kind: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(root / kind) if RUN_ID.match(n))
    except FileNotFoundError:
        return []


def _mark(run_dir: Path, kind: str, on: bool) -> None:
    marker = run_dir.parent / kind / run_dir.name
    if on:
        marker.parent.mkdir(exist_ok=True)
        marker.touch()
        _fsync_dir(marker.parent)
    else:
        marker.unlink(missing_ok=True)


def _adopt_unmarked(root: Path) -> None:
    """Runs made before the markers existed: look at each once, and mark those an apply
    or undo was cut short in (and those applied), so recovery and `undo` find them."""
    stamp = root / ".marked"
    if stamp.exists() or not root.is_dir():
        return
    for run_dir in _run_dirs(root):
        if any(journal.pending(run_dir / name) for name in (journal.APPLY, journal.UNDO)):
            _mark(run_dir, ACTIVE, True)
        elif journal.committed(run_dir / journal.APPLY) and not journal.committed(run_dir / journal.UNDO):
            _mark(run_dir, APPLIED, True)
    stamp.touch()


@contextmanager
def _active(run_dir: Path) -> Iterator[None]:
    """Marked before an apply or undo begins; unmarked once it committed or rolled back."""
    _mark(run_dir, ACTIVE, True)
    try:
        yield
    finally:
        _settle(run_dir)


def _settle(run_dir: Path) -> None:
    """Markers that match the run's journals; the active mark stays while one is pending."""
    if any(journal.pending(run_dir / name) for name in (journal.APPLY, journal.UNDO)):
        return
    applied = journal.committed(run_dir / journal.APPLY) and not journal.committed(run_dir / journal.UNDO)
    _mark(run_dir, APPLIED, applied)
    _mark(run_dir, ACTIVE, False)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sweep_expired(root: Path, days: float) -> None:
    """Remove the layers of previews older than `days` (never applied; they may hold
    gigabytes). At most once a day: the run ids say when each run was made."""
    stamp = root / ".expired"
    try:
        if time.time() - stamp.stat().st_mtime < 86400:
            return
    except FileNotFoundError:
        pass
    root.mkdir(parents=True, exist_ok=True)
    stamp.touch()
    cutoff = time.strftime("%Y%m%d-%H%M%S", time.gmtime(time.time() - days * 86400))
    for run_dir in _run_dirs(root):
        if run_dir.name[:15] < cutoff and (run_dir / "layers").exists() and not journal.committed(run_dir / journal.APPLY):
            try:
                with journal.locked(run_dir, wait=False):
                    _remove_tree(run_dir / "layers")
            except BlockingIOError:
                continue


def _result(run_dir: Path, record: RunRecord) -> RunResult:
    state = _state(run_dir, record)
    return RunResult(
        run_id=record.run_id,
        state=state,
        plan=record.plan,
        stdout=_read_bytes(run_dir / "stdout"),
        stderr=_read_bytes(run_dir / "stderr"),
        exit_code=record.exit_code,
        timed_out=record.timed_out,
        killed=record.killed,
        usage=record.usage,
        note=DIRECT_NOTE if state == "direct" else "",
        read_paths=record.read_paths,
        write_paths=record.write_paths,
        network=record.network,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _remove_tree(path: Path) -> None:
    """Remove a layer, even where overlayfs left a folder without permissions (work/work)."""
    if not path.exists():
        return
    for folder, subfolders, _ in os.walk(path):
        for name in subfolders:
            child = os.path.join(folder, name)
            if not os.path.islink(child):
                os.chmod(child, stat.S_IRWXU)
    shutil.rmtree(path)
