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
