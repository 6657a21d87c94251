"""`toolsmith logs [NAME]`: what the forge did in each session, newest first (like `llm logs`)."""

import json

import click

from ...base.terminal import safe
from ...forge import session_log
from .output import emit_json, json_option


@click.command()
@click.argument("name", required=False)
@click.option("-n", "--count", type=click.IntRange(min=0), default=3, show_default=True, help="How many sessions to show (0: all).")
@json_option
def logs(name: str | None, count: int, as_json: bool) -> None:
    """Show logged forge sessions (about tool NAME only, if given): description, prompt,
    each reply, diagnostics, repair rounds and outcome.

    Sessions are kept in DATA_DIR/logs.db; `[forge] log = false` in the config stops logging.
    """
    rows = session_log.sessions(name, count)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(f"no logged sessions{f' for {name}' if name else ''} (a session is logged by `toolsmith new` and `toolsmith edit`)")
        return
    for row in reversed(rows):  # oldest of those shown first, so the newest ends up nearest the prompt
        _print_session(row)


def _print_session(row: dict) -> None:
    model = f", model {row['model']}" if row["model"] else ", no model"
    click.echo(f"## session {row['id']}: {row['task']} {json.dumps(safe(row['description'], lines=True), ensure_ascii=False)} ({row['started']}{model})")
    for entry in row["entries"]:
        attempt = f"attempt {entry['attempt']}: " if entry["attempt"] else ""
        click.echo(f"\n### {attempt}{entry['kind'].replace('_', ' ')}")
        click.echo(safe(_text(entry["kind"], entry["content"]), lines=True))
    click.echo(f"\n### outcome: {row['outcome']}\n{safe(row['message'] or '', lines=True)}\n")


def _text(kind: str, content) -> str:
    """An entry as a person reads it."""
    if kind in ("prompt", "repair"):
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in content)
    if kind == "reply":
        return content
    if kind == "checked":
        found = content["diagnostics"]
        return "\n".join(f"{d['line']}:{d['column']}: {d['severity']}: {d['message']} [{d['rule']}]" for d in found) or "checks passed"
    if kind == "smoke_run":
        return f"`{' '.join(content['command'])}`: exit code {content['exit_code']}, {'ok' if content['ok'] else 'failed'}\n{content['output']}".rstrip()
    if kind in ("recipes", "unsure"):
        return ", ".join(f"{m['name']} ({m['score']:.2f})" for m in content["matches"]) + (f"\n{content['reason']}" if content.get("reason") else "")
    if kind == "using_recipe":
        return f"{content['name']} (match {content['score']:.2f}): {content['reason']}"
    if kind == "parameters":
        return ", ".join(f"{k} = {v}" for k, v in content["values"].items())
    if kind == "diff":
        return content["text"]
    return json.dumps(content, ensure_ascii=False)
