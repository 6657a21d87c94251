"""The manifest is strict: a typo or a wrong type is an error naming the key."""

import msgspec
import pytest

from toolsmith.core.base import manifest
from toolsmith.core.base.manifest import Manifest, ManifestError, Parameter

VALID = b"""
name = "rename-photos"
description = "Rename photos by the date they were taken"
language = "python"
origin = "recipe"
created = 2026-11-26T09:00:00Z
updated = 2026-11-26T09:00:00Z

[[parameters]]
name = "folder"
kind = "dir"
access = "write"
positional = true
required = true
help = "Folder of photos"

[[parameters]]
name = "dry_run"
kind = "flag"
"""


def test_valid_manifest_round_trips():
    m = manifest.decode(VALID)
    assert m.name == "rename-photos"
    assert m.parameters[0] == Parameter(name="folder", kind="dir", access="write", positional=True, required=True, help="Folder of photos")
    assert m.parameters[1].kind == "flag"
    assert manifest.decode(manifest.encode(m)) == m


def test_unknown_key_is_named():
    with pytest.raises(ManifestError, match=r"tool.toml: unknown key `permisions`"):
        manifest.decode(VALID + b'permisions = ["net"]\n')


def test_unknown_key_in_parameter_is_named():
    bad = VALID.replace(b'kind = "flag"', b'kind = "flag"\ndefualt = true')
    with pytest.raises(ManifestError, match=r"unknown key `defualt`.*parameters\[1\]"):
        manifest.decode(bad, "x/tool.toml")


def test_wrong_type_names_key_and_type():
    with pytest.raises(ManifestError, match=r"Expected `str`, got `int` - at `\$.description`"):
        manifest.decode(VALID.replace(b'description = "Rename photos by the date they were taken"', b"description = 5"))


def test_path_parameter_needs_access():
    bad = VALID.replace(b'access = "write"\n', b"")
    with pytest.raises(ManifestError, match="needs access"):
        manifest.decode(bad)


def test_access_only_for_paths():
    bad = VALID.replace(b'kind = "flag"', b'kind = "flag"\naccess = "read"')
    with pytest.raises(ManifestError, match="access applies only"):
        manifest.decode(bad)


def test_unknown_kind_rejected():
    with pytest.raises(ManifestError, match="parameters"):
        manifest.decode(VALID.replace(b'kind = "flag"', b'kind = "float"'))


def test_malformed_toml_is_one_line():
    with pytest.raises(ManifestError) as e:
        manifest.decode(b"name = 'x\n", "t/tool.toml")
    assert str(e.value).startswith("t/tool.toml: not valid TOML")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", "", "Upper", "x" * 65, "a\\b", ".hidden"])
def test_bad_tool_names(name):
    with pytest.raises(ManifestError, match="invalid tool name"):
        manifest.check_name(name)
    with pytest.raises(ManifestError):
        manifest.decode(VALID.replace(b'name = "rename-photos"', f"name = {name!r}".encode()))


def test_json_schema_describes_manifest():
    schema = manifest.json_schema()
    props = schema["$defs"]["Manifest"]["properties"]
    assert {"name", "description", "language", "parameters", "requires", "origin", "created", "updated"} <= set(props)
    assert schema["$defs"]["Manifest"]["additionalProperties"] is False
    kinds = schema["$defs"]["Parameter"]["properties"]["kind"]["enum"]
    assert sorted(kinds) == sorted(["path", "dir", "file", "string", "int", "flag"])


def test_schema_cli_prints_it(run_cli):
    result = run_cli("schema", "manifest")
    assert result.returncode == 0
    assert msgspec.json.decode(result.stdout) == manifest.json_schema()


def test_manifest_struct_defaults():
    now = manifest.now()
    m = Manifest(name="x", description="d", created=now, updated=now)
    assert (m.language, m.origin, m.parameters, m.network) == ("python", "hand", [], False)
