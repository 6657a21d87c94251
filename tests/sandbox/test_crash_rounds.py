"""Random SIGKILLs of real processes during apply, its rollback, recovery and undo,
then recovery again, as often as it takes: the files always end exactly in the
before- or the after-state, as root on root's files and as a normal user on theirs.

TOOLSMITH_CRASH_ROUNDS sets the rounds per user (default 6, to keep CI quick); the
test prints the rounds run and the failures found.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import msgspec
import pytest
from as_user import normal_user, popen_as  # noqa: F401 (fixture)
from preview_trees import MUTATE, expected_after, make_tree, overlay_preview, snapshot, without_mtimes

from toolsmith.sandbox import journal
from toolsmith.sandbox.plan import compute

ROUNDS = int(os.environ.get("TOOLSMITH_CRASH_ROUNDS", "6"))

WORKER = r"""
import sys
from pathlib import Path
import msgspec
from toolsmith.sandbox import journal
from toolsmith.sandbox.plan import Plan
action, run_dir, plan_file, progress_file = sys.argv[1:5]
progress = open(progress_file, "a")


def counted(operation):
    # each file operation, once done, is counted (before the journal records it)
    def run(step):
        operation(step)
        progress.write("x\n")
        progress.flush()
    return run


journal._do, journal._reverse = counted(journal._do), counted(journal._reverse)
try:
    if action == "apply":
        journal.apply(msgspec.json.decode(Path(plan_file).read_bytes(), type=Plan), Path(run_dir))
    elif action == "undo":
        journal.undo(Path(run_dir))
    else:
        journal.recover(Path(run_dir))
except journal.JournalError as e:
    print(e, file=sys.stderr)
    sys.exit(3)
"""

EXTRA = MUTATE + r"""
for i in range(12):
    p = j("bulk", f"{i:02}.txt")
    if i % 3 == 0: os.remove(p)
    elif i % 3 == 1: open(p, "a").write("more\n")
    else: os.rename(p, j("bulk", f"moved-{i:02}.txt"))
    os.makedirs(j("made", str(i)), exist_ok=True)
    open(j("made", str(i), "n.txt"), "w").write(str(i))
"""


class Round:
    def __init__(self, owner, rng: random.Random):
        self.rng, self.owner = rng, owner
        self.base = Path(tempfile.mkdtemp(prefix="crash-round-"))
        self.base.chmod(0o755)
        self.root = self.base / "root"
        make_tree(self.root)
        (self.root / "bulk").mkdir()
        for i in range(12):
            (self.root / "bulk" / f"{i:02}.txt").write_text(f"file {i}\n")
        self.before = snapshot(self.root)
        self.after = expected_after(self.root, self.base / "x", EXTRA)
        layer = overlay_preview(self.root, self.base / "layer", EXTRA)
        self.run_dir = self.base / "runs" / "20261126-101502-ab12"
        self.run_dir.mkdir(parents=True)
        if owner is not None:
            for path in [self.base, *self.base.rglob("*")]:
                os.chown(path, owner.pw_uid, owner.pw_gid, follow_symlinks=False)
        self.progress = self.base / "progress"
        self.progress.touch()
        os.chmod(self.progress, 0o666)
        self.plan_file = self.base / "plan.json"
        self.plan_file.write_bytes(msgspec.json.encode(compute([layer])))

    def start(self, action: str, fault: str = "") -> subprocess.Popen:
        argv = [sys.executable, "-c", WORKER, action, str(self.run_dir), str(self.plan_file), str(self.progress)]
        env = {journal.FAULT_ENV: fault} if fault else {}
        if self.owner is None:
            return subprocess.Popen(argv, env={**os.environ, **env}, stderr=subprocess.PIPE)
        return popen_as(self.owner, argv, env=env, stderr=subprocess.PIPE)

    def lines(self) -> int:
        return _count(self.progress)

    def maybe_killed(self, action: str, fault: str = "") -> str:
        """Run `action`; SIGKILL it once it did a random number of file operations
        (or at once, or never). Returns how it ended."""
        grow = self.rng.choice([None, 0, *range(1, 70)])
        target = self.lines() + (grow or 0)
        proc = self.start(action, fault)
        while grow is not None and proc.poll() is None and self.lines() < target:
            pass
        if grow is not None:
            proc.kill()
        _, err = proc.communicate()
        if proc.returncode not in (0, 3, 70, -signal.SIGKILL):
            raise AssertionError(f"{action} ended with {proc.returncode}: {err.decode()[-2000:]}")
        return {0: "finished", 3: "refused", 70: "fault", -signal.SIGKILL: "killed"}[proc.returncode]

    def recover_until_settled(self) -> None:
        for _ in range(self.rng.randint(0, 4)):
            self.maybe_killed("recover")
        proc = self.start("recover")
        _, err = proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert not any(journal.pending(self.run_dir / n) for n in (journal.APPLY, journal.UNDO))

    def state(self) -> str | None:
        now = snapshot(self.root)
        if now == self.before:
            return "before"
        if without_mtimes(now) == self.after:
            return "after"
        return None

    def play(self) -> list[str]:
        """One round; every way the files ended wrong."""
        wrong = []
        fault = self.rng.choice(["", "", f"fail:{self.rng.randint(1, 60)}"])  # a failing step: in-process rollback
        self.maybe_killed("apply", fault)
        self.recover_until_settled()
        state = self.state()
        if state is None:
            return [f"apply/recovery ended neither before nor after (fault {fault!r})"]
        for _ in range(3):
            if state != "after":
                break
            fault = self.rng.choice(["", f"fail:{self.rng.randint(1, 60)}"])
            self.maybe_killed("undo", fault)
            self.recover_until_settled()
            state = self.state()
            if state is None:
                wrong.append(f"undo/recovery ended neither applied nor before (fault {fault!r})")
        if state == "after":
            assert self.start("undo").wait() == 0
            state = self.state()
        if state != "before":
            wrong.append(f"after the last undo: {state}")
        return wrong

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def _count(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def play_rounds(owner, seed: int) -> None:
    rng, failures = random.Random(seed), []
    for n in range(ROUNDS):
        game = Round(owner, rng)
        try:
            failures += [f"round {n}: {w}" for w in game.play()]
        except AssertionError as e:  # a process that failed outright: a failure of this round
            failures.append(f"round {n}: {str(e)[-300:]}")
        finally:
            game.remove()
    who = "root" if owner is None else owner.pw_name
    print(json.dumps({"crash_rounds": ROUNDS, "user": who, "failures": len(failures)}))
    assert not failures, failures


@pytest.mark.skipif(os.geteuid() != 0, reason="root's run: this session is not root (the normal-user run covers it)")
def test_random_kills_converge_as_root_on_roots_files():
    play_rounds(None, seed=int(os.environ.get("TOOLSMITH_CRASH_SEED", "1")))


def test_random_kills_converge_as_a_normal_user(normal_user):  # noqa: F811
    play_rounds(normal_user if os.geteuid() == 0 else None, seed=int(os.environ.get("TOOLSMITH_CRASH_SEED", "2")))
