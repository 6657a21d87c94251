"""The conversation the forge sends to the model: conventions, schema, worked examples."""

from ..base.diagnostics import Diagnostic
from ..base.manifest import Manifest, encode
from ..base.plugin_host import load_plugins, pm
from ..tools.recipes import Recipe
from .events import SmokeRun
from .extract import Proposal

CONVENTIONS = """\
You write small, safe command-line tools for end users. Reply with exactly two fenced blocks:
first a ```toml block with the tool's manifest, then a ```python block with its source.

Source rules:
- One self-contained Python 3 program: `def main(argv=None)` parses arguments with argparse,
  and the file ends with `if __name__ == "__main__":` calling `main()`.
- Import only the standard library, plus packages listed in the manifest's `requires` (Pillow is `PIL`).
- Never use eval, exec, compile, __import__, os.system, os.popen or subprocess with shell=True.
- No network access unless the manifest says `network = true`.
- The tool's main path is its first positional argument. Touch only the paths given as arguments.
- Tools that change files take `--dry-run` (print what would change, change nothing),
  never overwrite an existing file without being asked, and print a one-line summary.

Manifest keys (TOML):
  name = "lowercase-with-dashes"        # at most 64 characters
  description = "one sentence"
  requires = []                         # third-party import names, e.g. ["PIL"]
  network = false
  [[parameters]]                        # one table per argparse argument, in order
  name = "folder"                       # the argument's name
  kind = "dir"                          # path | dir | file | string | int | flag
  access = "write"                      # path kinds only: read | write
  positional = true                     # false for --options
  required = true
  help = "what it is"
"""


def system_prompt(description: str, task: str) -> str:
    """Conventions plus whatever context plugins add for this request."""
    load_plugins()
    extra = [text for text in pm.hook.toolsmith_forge_context(description=description, task=task) if text]
    return "\n\n".join([CONVENTIONS, *extra])


def example_turns(recipes: list[Recipe]) -> list[dict]:
    """Each recipe as a request and the ideal reply: the model copies the format."""
    turns = []
    for recipe in recipes:
        manifest = proposal_text(recipe.manifest)
        turns.append({"role": "user", "content": recipe.phrasings[0] if recipe.phrasings else recipe.manifest.description})
        turns.append({"role": "assistant", "content": f"```toml\n{manifest}```\n\n```python\n{recipe.source}```"})
    return turns


def new_messages(description: str, examples: list[Recipe]) -> list[dict]:
    return [
        {"role": "system", "content": system_prompt(description, "new")},
        *example_turns(examples),
        {"role": "user", "content": description},
    ]


def edit_messages(change: str, manifest_text: str, source: str, examples: list[Recipe]) -> list[dict]:
    current = f"```toml\n{manifest_text}```\n\n```python\n{source}```"
    return [
        {"role": "system", "content": system_prompt(change, "edit")},
        *example_turns(examples),
        {"role": "user", "content": f"Here is an existing tool:\n\n{current}\n\nChange it: {change}\nReply with the whole updated tool."},
    ]


def repair_message(diagnostics: list[Diagnostic], smoke: SmokeRun | None = None) -> dict:
    """Tell the model what failed, with snippets, and ask for the whole tool again.

    Warnings (lint findings such as an unused variable) ride along with the errors.
    """
    lines = [d.render() for d in diagnostics if d.severity == "error"]
    warnings = [d.render() for d in diagnostics if d.severity != "error"]
    if warnings:
        lines.append("Warnings, worth fixing too:\n\n" + "\n\n".join(warnings))
    if smoke is not None:
        lines.append(f"Running `--help` failed (exit code {smoke.exit_code}); it must print usage and exit 0. Output:\n{smoke.output or '(none)'}")
    return {
        "role": "user",
        "content": "The tool failed these checks:\n\n" + "\n\n".join(lines) + "\n\nFix every problem and reply with the corrected ```toml and ```python blocks.",
    }


def proposal_text(m: Manifest) -> str:
    """The manifest as the model writes it: without timestamps, origin or trigger."""
    proposal = Proposal(name=m.name, description=m.description, parameters=m.parameters, requires=m.requires, network=m.network)
    return encode(proposal).decode()
