"""Every forge session is kept in logs.db and shown by `toolsmith logs`."""

import json
import sqlite3

import msgspec
import pytest
from test_forge import BROKEN, GOOD, reply

from toolsmith.core.base import config as config_module
from toolsmith.core.forge import events as ev
from toolsmith.core.forge import session_log
from toolsmith.core.forge.pipeline import ForgeError, forge_new
from scripted_engine import ScriptedEngine


@pytest.fixture
def config():
    return config_module.load()


def test_a_session_keeps_prompt_replies_diagnostics_repairs_and_outcome(config):
    engine = ScriptedEngine([reply(BROKEN), reply(GOOD)])
    list(forge_new("print a file in capitals", config, engine=engine))
    (session,) = session_log.sessions()
    assert (session["task"], session["description"], session["tool"], session["outcome"]) == (
        "new", "print a file in capitals", "shout-file", "saved")
    assert session["message"] == "saved shout-file version 1 (from model)" and session["finished"]
    kinds = [(e["attempt"], e["kind"]) for e in session["entries"]]
    assert kinds == [(None, "recipes"), (1, "prompt"), (1, "reply"), (1, "checked"), (2, "repair"), (2, "reply"),
                     (2, "checked"), (2, "smoke_run")]
    entries = session["entries"]
    assert [m["role"] for m in entries[1]["content"]][-1] == "user" and "capitals" in entries[1]["content"][-1]["content"]
    assert entries[2]["content"] == reply(BROKEN) and entries[5]["content"] == reply(GOOD)
    assert entries[3]["content"]["diagnostics"][0]["rule"] == "syntax"
    (repair,) = entries[4]["content"]  # only what was new: the repair request, not the whole conversation again
    assert repair["role"] == "user" and "syntax" in repair["content"]


def test_recipe_sessions_errors_and_interruptions_are_logged(config):
    list(forge_new("rename photos by date", config))
    with pytest.raises(ForgeError):
        list(forge_new("   ", config))
    stream = forge_new("print a file in capitals", config, engine=ScriptedEngine([reply(GOOD)], chunk=3))
    for event in stream:
        if isinstance(event, ev.Token):
            break
    stream.close()
    interrupted, failed, recipe = session_log.sessions()
    assert (recipe["outcome"], recipe["tool"], recipe["model"]) == ("saved", "rename-photos-by-date", None)
    assert [e["kind"] for e in recipe["entries"]] == ["recipes", "using_recipe"]
    assert failed["outcome"] == "error" and "empty" in failed["message"]
    assert interrupted["outcome"] == "interrupted" and interrupted["entries"][-1]["kind"] == "reply"  # as far as it got
    assert [s["id"] for s in session_log.sessions("rename-photos-by-date")] == [recipe["id"]]
    assert len(session_log.sessions(limit=2)) == 2


def test_logging_off_writes_nothing(config):
    off = msgspec.structs.replace(config, forge=msgspec.structs.replace(config.forge, log=False))
    list(forge_new("rename photos by date", off))
    assert session_log.sessions() == [] and not session_log.db_path().exists()


def test_cli_logs_text_escapes_the_models_words_and_json_has_everything(run_cli, config):
    hostile = GOOD.replace("Print a text file", "Print \x1b[2J\x1b]0;owned\x07 a \u202etext file")
    list(forge_new("print a file in capitals", config, engine=ScriptedEngine([reply(hostile)])))
    shown = run_cli("logs")
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\u202e" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b[2J" in shown.stdout and "\\u202e" in shown.stdout
    for heading in ("## session 1: new", "### attempt 1: prompt", "### attempt 1: reply", "### attempt 1: checked",
                    "### attempt 1: smoke run", "### outcome: saved"):
        assert heading in shown.stdout
    as_json = json.loads(run_cli("logs", "shout-file", "--json").stdout)
    assert as_json[0]["tool"] == "shout-file" and "\x1b[2J" in as_json[0]["entries"][2]["content"]
    assert json.loads(run_cli("logs", "no-such-tool", "--json").stdout) == []
    assert "no logged sessions for no-such-tool" in run_cli("logs", "no-such-tool").stdout


def test_logging_is_off_with_the_config_key(run_cli):
    made = run_cli("new", "rename photos by date", env={"TOOLSMITH_FORGE__LOG": "false"})
    assert made.returncode == 0
    assert "no logged sessions" in run_cli("logs").stdout
    where = json.loads(run_cli("config", "path", "--json").stdout)["logs"]
    with pytest.raises(sqlite3.OperationalError):
        sqlite3.connect(f"file:{where}?mode=ro", uri=True).execute("SELECT 1 FROM sessions")
