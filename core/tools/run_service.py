"""The one way a tool runs: preview in the sandbox, then apply or undo by run id.

The CLI, the HTTP tools API, the LSP code action and the watcher all call these, so
what a user is shown and asked before a run is decided here once: the grants (every
path with read or write) and network yes/no are handed to the frontend's `ask`
before the tool starts, and a run that needs the user's yes (network, a path from a
manifest default) never starts without it. The sandbox keeps the runs under
``data_dir()/runs``; its launcher loads only when a run is made.
"""

from collections.abc import Callable
from pathlib import Path

import msgspec

from toolsmith.sandbox.plan import Change
from toolsmith.sandbox.run_store import RunSummary

from ..base import paths
from ..base.config import SandboxConfig
from ..base.errors import ToolsmithError
from .grants import Grant
from .invocation import flag, grants_for, invocation, policy_for
from .library import Tool


class NotApproved(ToolsmithError):
    """A run needs the user's yes (network access, a default path) and did not get it."""


class Access(msgspec.Struct, kw_only=True):
    """What a run will be able to touch, shown before it starts."""

    tool: str
    grants: list[Grant]
    network: bool

    def questions(self, allow_network: bool = False) -> list[str]:
        """What needs the user's yes before the run starts, one phrase each."""
        asked = [
            f"{flag(g.parameter)} defaults to {g.path} ({g.access}) in the tool's manifest; the tool gets it only if you say so"
            for g in self.grants if g.default
        ]
        if self.network and not allow_network:
            readable = ", ".join(g.path for g in self.grants if g.parameter is not None) or "only its own folder"
            asked.append(f"the tool asks for network access: it could send what it can read ({readable}) anywhere")
        return asked

    def how(self, allow_network: bool, hint: str = "pass --allow-network") -> str:
        """How to give, without being asked, what `questions` asks for."""
        how = [hint] if self.network and not allow_network else []
        how += ["pass those paths yourself"] if any(g.default for g in self.grants) else []
        return " and ".join(how)


class ToolRun(msgspec.Struct, kw_only=True):
    """A run as every frontend shows it: the tool's output and the plan of file changes."""

    run_id: str
    state: str  # previewed | applied | undone | expired | direct
    exit_code: int
    timed_out: bool
    killed: bool
    usage: dict[str, float] | None
    note: str
    stdout: str  # undecodable bytes replaced
    stderr: str
    summary: str  # "2 created, 1 modified", "no changes", or "not previewed"
    counts: dict[str, int]
    changes: list[Change]  # names escaped (see `escaped`)
    grants: list[Grant] = []  # every path the run could reach, with read or write
    network: bool = False  # whether it had network access (the user approved it)

    def failure(self, name: str) -> str | None:
        """Why the run failed, in one line naming the tool; None when it succeeded."""
        if self.exit_code == 0:
            return None
        last = (self.stderr.strip().splitlines() or [""])[-1]
        reason = " (timed out)" if self.timed_out else (f": {last}" if last else "")
        return f"{name} exited with code {self.exit_code}{reason}; nothing was changed"


def runs_folder() -> Path:
    return paths.data_dir() / "runs"


def preview(
    tool: Tool,
    args: list[str],
    cwd: Path,
    settings: SandboxConfig,
    allow_degraded: bool = False,
    *,
    allow_network: bool = False,
    ask: Callable[[Access, list[str]], bool] | None = None,
    hint: str = "pass --allow-network",
    on_output: Callable[[str, bytes], None] | None = None,
) -> ToolRun:
    """Run `tool` on `args` (relative paths from `cwd`) with its writes kept in layers.

    `on_output(stream, data)` sees the tool's output while it runs (run_report.LiveOutput
    turns it into escaped lines).

    `ask(access, questions)` is called before the tool starts, with what it will be able
    to touch and what needs the user's yes (empty: nothing); False stops the run. Without
    `ask`, a run with questions is refused (`hint` says how to allow network instead).
    """
    from toolsmith.sandbox import run_store

    inv = invocation(tool, args, cwd)
    found = grants_for(tool, inv)
    access = Access(tool=tool.manifest.name, grants=found, network=tool.manifest.network)
    questions = access.questions(allow_network)
    if ask is not None:
        if not ask(access, questions):
            raise NotApproved(f"{tool.manifest.name}: not run, you did not approve: " + "; ".join(questions or ["the run"]))
    elif questions:
        raise NotApproved(f"{tool.manifest.name}: not run without your approval: {'; '.join(questions)} ({access.how(allow_network, hint)})")
    policy = policy_for(tool, inv, settings, allow_degraded, found)
    return _shown(run_store.run(runs_folder(), inv.argv, policy, preview=True, preview_days=settings.preview_days,
                                on_output=on_output), found)


def apply(run_id: str) -> ToolRun:
    from toolsmith.sandbox import run_store

    return _shown(run_store.apply(runs_folder(), run_id))


def undo(run_id: str | None = None, force: bool = False) -> ToolRun:
    """Put the files back as they were before `run_id` (default: the latest applied run)."""
    from toolsmith.sandbox import run_store

    return _shown(run_store.undo(runs_folder(), run_id, force=force))


def get(run_id: str) -> ToolRun:
    from toolsmith.sandbox import run_store

    return _shown(run_store.get(runs_folder(), run_id))


def list_runs(limit: int | None = None) -> list[RunSummary]:
    """Runs, newest first, their commands escaped like names."""
    from toolsmith.sandbox import run_store

    return msgspec.convert(escaped(msgspec.to_builtins(run_store.list_runs(runs_folder(), limit))), list[RunSummary])


def recover() -> list[str]:
    """Roll back applies and undos a crash cut short; one line per run concerned."""
    from toolsmith.sandbox import run_store

    return run_store.recover(runs_folder())


def prune(older_than_days: float) -> tuple[list[str], list[str]]:
    from toolsmith.sandbox import run_store

    return run_store.prune(runs_folder(), older_than_days)


def _shown(result, found: list[Grant] | None = None) -> ToolRun:
    plan = result.plan
    if found is None:  # a stored run: its grants as recorded, without parameter names
        found = [Grant(path=p, access="read", parameter="") for p in result.read_paths]
        found += [Grant(path=p, access="write", parameter="") for p in result.write_paths]
    return ToolRun(
        run_id=result.run_id,
        state=result.state,
        exit_code=result.exit_code,
        timed_out=result.timed_out,
        killed=result.killed,
        usage=result.usage,
        note=result.note,
        stdout=result.stdout.decode("utf-8", "replace"),
        stderr=result.stderr.decode("utf-8", "replace"),
        summary=plan.summary() if plan else "not previewed",
        counts=plan.counts() if plan else {},
        changes=msgspec.convert(escaped(msgspec.to_builtins(plan.changes)), list[Change]) if plan else [],
        grants=msgspec.convert(escaped(msgspec.to_builtins(found)), list[Grant]),
        network=result.network,
    )


def escaped(data):
    """`data` with every string made showable: a file name's bytes that are not UTF-8
    (kept as lone surrogates) become \\xNN, so the run encodes as JSON and prints."""
    if isinstance(data, str):
        return data.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(data, dict):
        return {escaped(k): escaped(v) for k, v in data.items()}
    if isinstance(data, list):
        return [escaped(v) for v in data]
    return data
