"""The tool manifest (`tool.toml`): strict, so a typo is an error, not a silent default."""

import datetime as dt
import re
from typing import Annotated, Literal

import msgspec
import tomli_w

from .errors import ToolsmithError

MANIFEST_FILE = "tool.toml"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
PATH_KINDS = ("path", "dir", "file")

Name = Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]


class ManifestError(ToolsmithError):
    """A manifest that cannot be used; the message names the file and key."""


class Parameter(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One input of a tool. Path kinds say whether the tool reads or writes there."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")]
    kind: Literal["path", "dir", "file", "string", "int", "flag"]
    help: str = ""
    access: Literal["read", "write"] | None = None
    positional: bool = False
    required: bool = False
    multiple: bool = False
    default: str | int | bool | None = None

    def __post_init__(self):
        if self.kind in PATH_KINDS and self.access is None:
            raise ValueError(f"parameter {self.name!r} of kind {self.kind!r} needs access = \"read\" or \"write\"")
        if self.kind not in PATH_KINDS and self.access is not None:
            raise ValueError(f"parameter {self.name!r}: access applies only to path, dir and file")


class Trigger(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Run the tool whenever files appear or change in a folder (`toolsmith watch NAME`).

    Every run is previewed in the sandbox and journaled like `toolsmith run`; it is
    applied without asking only when `auto_apply` is true.
    """

    path: str = ""  # the folder to watch, absolute or from ~; `toolsmith watch NAME PATH` overrides it
    parameter: str = ""  # the path/dir parameter that receives the folder; default: the first positional one
    args: list[str] = []  # the tool's other arguments for every run
    patterns: list[str] = []  # file-name globs that count, e.g. ["*.jpg"]; empty: every file
    debounce_ms: Annotated[int, msgspec.Meta(ge=10, le=600_000)] = 500  # quiet time before a run
    auto_apply: bool = False

    def __post_init__(self):
        if self.path and not (self.path.startswith("~") or self.path.startswith("/")):
            raise ValueError(f"trigger.path {self.path!r} must be absolute or start with ~ (it must not depend on where Toolsmith starts)")


class Manifest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """What a tool is, what it takes, what it may touch, and where it came from."""

    name: Name
    description: str
    language: str = "python"
    parameters: list[Parameter] = []
    requires: list[str] = []
    network: bool = False
    origin: Literal["recipe", "model", "hand"] = "hand"
    created: dt.datetime
    updated: dt.datetime
    trigger: Trigger | None = None

    def __post_init__(self):
        if self.trigger is not None:
            trigger_parameter(self, self.trigger.parameter)



def trigger_parameter(manifest: Manifest, wanted: str = "") -> Parameter:
    """The parameter a trigger passes the watched folder to: `wanted`, or the first positional path.

    Only the first positional parameter or an option can take it, so the folder
    can be put in front of the other arguments without reordering them.
    """
    positional = [p for p in manifest.parameters if p.positional]
    if not wanted:
        if positional and positional[0].kind in ("path", "dir"):
            return positional[0]
        raise ValueError("trigger: the tool's first positional parameter is not a path or dir; name one with trigger.parameter")
    found = next((p for p in manifest.parameters if p.name == wanted), None)
    if found is None or found.kind not in ("path", "dir"):
        raise ValueError(f"trigger.parameter {wanted!r} is not a path or dir parameter of this tool")
    if found.positional and found is not positional[0]:
        raise ValueError(f"trigger.parameter {wanted!r} must be the first positional parameter or an option")
    return found


def check_name(name: str) -> str:
    """Return `name` if it can be a tool's folder name; raise a one-line error otherwise."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise ManifestError(
            f"invalid tool name {name!r}: use lowercase letters, digits, '-' and '_' "
            "(no path separators, no '..', at most 64 characters)"
        )
    return name


def decode(data: bytes, source: str = MANIFEST_FILE) -> Manifest:
    """Decode a manifest strictly; errors name `source` and the offending key."""
    try:
        return msgspec.toml.decode(data, type=Manifest)
    except msgspec.ValidationError as e:
        raise ManifestError(f"{source}: {_explain(e)}") from None
    except msgspec.DecodeError as e:
        raise ManifestError(f"{source}: not valid TOML: {e}") from None


def encode(manifest: Manifest) -> bytes:
    return tomli_w.dumps(msgspec.to_builtins(manifest, builtin_types=(dt.datetime,))).encode()


def json_schema() -> dict:
    """The manifest's JSON Schema, for editors and for the model's prompt."""
    return msgspec.json.schema(Manifest)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _explain(e: msgspec.ValidationError) -> str:
    text = str(e)
    if text.startswith("Object contains unknown field"):
        return text.replace("Object contains unknown field", "unknown key", 1) + " (check its spelling)"
    return text
