"""A local record of every forge session, so a user can see why a tool came out as it did.

Each `new` or `edit` (from the CLI, the HTTP API or an editor) is one session in
DATA_DIR/logs.db (stdlib sqlite3): the description, what was sent to the model, each
reply, the diagnostics, smoke runs and repair rounds, and the outcome. Entries are
written as they happen, so a session cut short still shows how far it got.
`[forge] log = false` turns it off. Replies are stored as the model wrote them:
untrusted text, escaped by whoever shows it.
"""

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing

import msgspec

from ..base import paths
from . import events as ev

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    task TEXT NOT NULL,
    description TEXT NOT NULL,
    tool TEXT,
    model TEXT,
    outcome TEXT NOT NULL DEFAULT 'running',
    message TEXT
);
CREATE TABLE IF NOT EXISTS entries (
    session INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    attempt INTEGER,
    kind TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (session, seq)
);
CREATE INDEX IF NOT EXISTS sessions_tool ON sessions(tool);
"""
# Events whose whole content is worth keeping; tokens are joined into one reply per attempt.
KEPT = (ev.RecipesFound, ev.UsingRecipe, ev.Unsure, ev.ParametersFilled, ev.AlreadyHave, ev.Checked, ev.SmokeRun, ev.Diff)


def db_path():
    return paths.data_dir() / "logs.db"


def _connect() -> sqlite3.Connection:
    path = db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=10, isolation_level=None)  # autocommit: every entry lands at once
    db.execute("PRAGMA journal_mode=WAL")  # a CLI session and `toolsmith serve` may write together
    db.executescript(SCHEMA)
    return db


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class SessionLog:
    """One session's writer. `record` wraps the forge's event stream; `sent` logs messages to the model."""

    def __init__(self, task: str, description: str, model: str | None, tool: str | None = None):
        self.db = _connect()
        self.seq, self.attempt, self.reply = 0, None, []
        self.id = self.db.execute(
            "INSERT INTO sessions (started, task, description, tool, model) VALUES (?, ?, ?, ?, ?)",
            (_now(), task, description, tool, model),
        ).lastrowid

    def sent(self, attempt: int, messages: list[dict]) -> None:
        """The messages sent to the model for this attempt (the prompt first, then each repair)."""
        self._add("prompt" if attempt == 1 else "repair", messages, attempt)

    def record(self, stream: Iterator[ev.Event]) -> Iterator[ev.Event]:
        """Pass every event on, logging it; the last one (or the exception) is the outcome."""
        last = None
        try:
            for event in stream:
                self._event(event)
                last = event
                yield event
        except GeneratorExit:
            self._finish("interrupted", "the session was stopped before it finished")
            raise
        except Exception as e:
            self._finish("error", str(e))
            raise
        else:
            self._finish(*_outcome(last))
        finally:
            self.db.close()

    def _event(self, event: ev.Event) -> None:
        if isinstance(event, ev.Attempt):
            self._end_reply()
            self.attempt = event.number
        elif isinstance(event, ev.Token):
            self.reply.append(event.text)
        elif isinstance(event, KEPT):
            self._end_reply()
            self._add(event.__struct_config__.tag, msgspec.to_builtins(event), self.attempt)
        if isinstance(event, (ev.Saved, ev.AlreadyHave, ev.UsingRecipe)):
            self.db.execute("UPDATE sessions SET tool = ? WHERE id = ?", (event.name, self.id))

    def _end_reply(self) -> None:
        if self.reply:
            self._add("reply", "".join(self.reply), self.attempt)
            self.reply = []

    def _add(self, kind: str, content, attempt: int | None) -> None:
        self.seq += 1
        self.db.execute(
            "INSERT INTO entries (session, seq, attempt, kind, content) VALUES (?, ?, ?, ?, ?)",
            (self.id, self.seq, attempt, kind, msgspec.json.encode(content).decode()),
        )

    def _finish(self, outcome: str, message: str) -> None:
        self._end_reply()
        self.db.execute(
            "UPDATE sessions SET finished = ?, outcome = ?, message = ? WHERE id = ?", (_now(), outcome, message, self.id)
        )


def _outcome(last: ev.Event | None) -> tuple[str, str]:
    match last:
        case ev.Saved(name=name, version=version, origin=origin):
            return "saved", f"saved {name} version {version} (from {origin})"
        case ev.AlreadyHave(name=name, command=command):
            return "exists", f"already saved as {name}: {command}"
        case ev.Error(message=message):
            return "error", message
    return "ended", "the session ended without saving"


class NoLog:
    """What the forge logs to when `[forge] log = false`."""

    def sent(self, attempt: int, messages: list[dict]) -> None:
        pass


def recorded(enabled: bool, task: str, description: str, model: str | None, tool: str | None,
             forge: Callable[[SessionLog | NoLog], Iterator[ev.Event]]) -> Iterator[ev.Event]:
    """The events of `forge(log)`, logged as one session; nothing is written before the first is asked for."""
    if not enabled:
        yield from forge(NoLog())
        return
    log = SessionLog(task, description, model, tool)
    yield from log.record(forge(log))


def sessions(tool: str | None = None, limit: int = 0) -> list[dict]:
    """The newest sessions first (those about `tool` only, if given), each with its entries in order."""
    if not db_path().exists():
        return []
    with closing(_connect()) as db:
        db.row_factory = sqlite3.Row
        where, args = ("WHERE tool = ?", [tool]) if tool else ("", [])
        query = f"SELECT * FROM sessions {where} ORDER BY id DESC" + (" LIMIT ?" if limit else "")
        rows = [dict(row) for row in db.execute(query, [*args, *([limit] if limit else [])])]
        for row in rows:
            row["entries"] = [
                {"attempt": e["attempt"], "kind": e["kind"], "content": msgspec.json.decode(e["content"])}
                for e in db.execute("SELECT attempt, kind, content FROM entries WHERE session = ? ORDER BY seq", (row["id"],))
            ]
    return rows
