"""Pull a tool's manifest and source out of a model's reply.

The model is asked for a ```toml block (the manifest) and a ```python (or ```bash)
block (the source). Anything wrong with the reply comes back as diagnostics, so the
repair loop can show the model exactly what to fix.
"""

import datetime as dt
import re

import msgspec

from ..base.diagnostics import Diagnostic
from ..base.manifest import Manifest, Parameter, now

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
CODE_LANGUAGES = {"python": "python", "py": "python", "python3": "python", "bash": "bash", "sh": "bash", "shell": "bash"}


class Proposal(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The part of a manifest the model writes; the forge fills in the rest."""

    name: str = ""
    description: str = ""
    language: str = ""
    parameters: list[Parameter] = []
    requires: list[str] = []
    network: bool = False


class Extracted(msgspec.Struct, frozen=True):
    manifest: Manifest
    source: str


def extract(reply: str, *, default_name: str, default_description: str, origin: str = "model") -> Extracted | list[Diagnostic]:
    """The manifest and source in `reply`, or diagnostics saying what is missing or wrong."""
    blocks = [(tag.lower(), body) for tag, body in FENCE.findall(reply)]
    code = [(CODE_LANGUAGES[tag], body) for tag, body in blocks if tag in CODE_LANGUAGES]
    if not code:
        return [_problem("no-code", "the reply has no ```python code block; reply with a ```toml manifest block and a ```python block")]
    language, source = max(code, key=lambda item: len(item[1]))
    proposal = Proposal()
    tomls = [body for tag, body in blocks if tag == "toml"]
    if tomls:
        try:
            proposal = msgspec.toml.decode(tomls[0].encode(), type=Proposal)
        except (msgspec.ValidationError, msgspec.DecodeError) as e:
            return [_problem("manifest", f"the ```toml manifest is invalid: {e}")]
    stamp = now()
    manifest = Manifest(
        name=proposal.name or default_name,
        description=proposal.description or default_description,
        language=proposal.language or language,
        parameters=proposal.parameters,
        requires=proposal.requires,
        network=proposal.network,
        origin=origin,
        created=stamp,
        updated=stamp,
    )
    try:  # run the manifest's own validation (name pattern, parameter rules)
        manifest = msgspec.convert(msgspec.to_builtins(manifest, builtin_types=(dt.datetime,)), type=Manifest)
    except msgspec.ValidationError as e:
        return [_problem("manifest", f"the manifest is invalid: {e}")]
    return Extracted(manifest, source if source.endswith("\n") else source + "\n")


def _problem(rule: str, message: str) -> Diagnostic:
    return Diagnostic(rule=rule, message=message, line=1, column=1)
