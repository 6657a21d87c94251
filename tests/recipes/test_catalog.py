"""The built-in catalog: enough recipes, strict manifests, tools that follow the conventions."""

import ast
import sys
from pathlib import Path

import pytest

from toolsmith.core.base import manifest
from toolsmith.core.base.manifest import PATH_KINDS
from toolsmith.core.base.plugin_host import collect
from toolsmith.core.tools.checks import check_source
from toolsmith.core.tools.languages import get_language
from toolsmith.core.tools.recipes import recipes

from recipe_helpers import RECIPES

CATALOG = recipes()
NAMES = sorted(CATALOG)


def test_catalog_has_at_least_25_recipes_from_the_builtin_plugin():
    assert len(CATALOG) >= 25
    by_plugin = {recipe.name: plugin for plugin, recipe in collect("toolsmith_register_recipes")}
    assert all(by_plugin[name] == "recipes" for name in NAMES)


def test_every_recipe_folder_is_complete():
    folders = sorted(entry.name for entry in RECIPES.iterdir() if entry.is_dir() and entry.name != "__pycache__")
    assert folders == NAMES
    for name in NAMES:
        assert sorted(e.name for e in (RECIPES / name).iterdir()) == ["phrasings.txt", "tool.py", "tool.toml"]


@pytest.mark.parametrize("name", NAMES)
def test_manifest_decodes_strictly_and_describes_a_recipe(name):
    decoded = manifest.decode((RECIPES / name / "tool.toml").read_bytes())
    assert decoded.name == name and decoded.origin == "recipe" and decoded.language == "python"
    assert len(decoded.description) > 30
    assert all(p.help for p in decoded.parameters)
    first = next(p for p in decoded.parameters if p.positional)
    assert first.kind in PATH_KINDS and first.required  # a tool's main path is its first positional parameter


@pytest.mark.parametrize("name", NAMES)
def test_phrasings_are_several_and_distinct(name):
    phrasings = CATALOG[name].phrasings
    assert 4 <= len(phrasings) <= 8
    assert len({p.lower() for p in phrasings}) == len(phrasings)


@pytest.mark.parametrize("name", NAMES)
def test_source_passes_the_checks(name):
    recipe = CATALOG[name]
    found = check_source(recipe.source, recipe.manifest, "python")
    assert not found, [f"{d.line}:{d.column} {d.rule}: {d.message}" for d in found]


@pytest.mark.parametrize("name", NAMES)
def test_source_imports_only_the_standard_library_and_its_requires(name):
    recipe = CATALOG[name]
    allowed = set(sys.stdlib_module_names) | set(recipe.manifest.requires)
    imported = set()
    for node in ast.walk(ast.parse(recipe.source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= allowed, imported - allowed
    if "PIL" in recipe.manifest.requires:
        assert "PIL" in imported  # requires lists only what is used


@pytest.mark.parametrize("name", NAMES)
def test_help_works_and_lists_the_manifest_options(name, run_plain_tool):
    result = run_plain_tool(name, "--help")
    assert result.stdout.startswith("usage:")
    for parameter in CATALOG[name].manifest.parameters:
        if not parameter.positional:
            assert "--" + parameter.name.replace("_", "-") in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_main_path_is_a_clear_usage_error(name, tmp_path, run_plain_tool):
    first = next(p for p in CATALOG[name].manifest.parameters if p.positional)
    args = [tmp_path / "does-not-exist"]
    args += [tmp_path / "out"] * sum(1 for p in CATALOG[name].manifest.parameters if p.positional and p.required and p is not first)
    args += _required_options(name, tmp_path)
    result = run_plain_tool(name, *args, check=False)
    assert result.returncode in (1, 2) and "does-not-exist" in result.stderr
    assert "Traceback" not in result.stderr


def _required_options(name, tmp_path):
    """A valid value for each required option, so that only the missing path is wrong."""
    special = {("convert-images", "to"): "png"}
    options = []
    for p in CATALOG[name].manifest.parameters:
        if p.required and not p.positional:
            options += ["--" + p.name, special.get((name, p.name), tmp_path / "out" if p.kind in PATH_KINDS else "a")]
    return options


@pytest.mark.parametrize("name", NAMES)
def test_manifest_parameters_match_the_tools_own_arguments(name):
    """`toolsmith run` passes --NAME for each parameter, so the manifest must name what argparse accepts."""
    recipe = CATALOG[name]
    inferred = {p.name: p for p in get_language("python").infer_parameters(recipe.source)}
    declared = {p.name: p for p in recipe.manifest.parameters}
    assert set(declared) == set(inferred)
    for parameter in declared.values():
        found = inferred[parameter.name]
        assert (parameter.positional, parameter.required, parameter.multiple) == (found.positional, found.required, found.multiple)
        if parameter.default is not None:
            assert parameter.default == found.default


def test_every_recipe_has_a_fixture_test():
    here = Path(__file__).parent
    tests = "".join(path.read_text() for path in here.glob("test_*_recipes.py"))
    assert [name for name in NAMES if f'run_tool("{name}"' not in tests] == []
