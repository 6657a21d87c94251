"""Config: strict TOML, environment overrides, errors that name file, key and type."""

import json

import pytest

from toolsmith.core.base import config, paths
from toolsmith.core.base.config import ConfigError


def write(text):
    path = paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_file():
    c = config.load()
    assert c.engine.backend == "native"
    assert "eval" in c.checks.forbidden_calls
    assert c.sandbox.allow_degraded is False


def test_toolsmith_home_relocates_everything(toolsmith_home):
    for where in (paths.config_dir(), paths.data_dir(), paths.cache_dir(), paths.plugins_dir(), paths.tools_dir()):
        assert where.is_relative_to(toolsmith_home)


def test_file_values_are_used():
    write('[engine]\nmodel = "smol"\ndtype = "bfloat16"\n[checks]\nallowed_imports = ["PIL"]\n')
    c = config.load()
    assert (c.engine.model, c.engine.dtype, c.checks.allowed_imports) == ("smol", "bfloat16", ["PIL"])


def test_unknown_key_names_file_and_key():
    path = write("[engine]\nmodle = 'x'\n")
    with pytest.raises(ConfigError) as e:
        config.load()
    assert str(path) in str(e.value) and "unknown key `modle`" in str(e.value) and "engine" in str(e.value)


def test_unknown_section():
    write("[engnie]\nmodel = 'x'\n")
    with pytest.raises(ConfigError, match="unknown key `engnie`"):
        config.load()


def test_wrong_type_names_expected_type():
    write("[sandbox]\ntimeout = 'soon'\n")
    with pytest.raises(ConfigError, match=r"Expected `float`, got `str` - at `sandbox.timeout`"):
        config.load()


def test_invalid_choice():
    write("[engine]\ndtype = 'int3'\n")
    with pytest.raises(ConfigError, match="engine.dtype"):
        config.load()


def test_malformed_toml():
    path = write("[engine\n")
    with pytest.raises(ConfigError, match=f"{path}: not valid TOML"):
        config.load()


def test_environment_overrides_file(monkeypatch):
    write("[engine]\nmodel = 'from-file'\n")
    monkeypatch.setenv("TOOLSMITH_ENGINE__MODEL", "from-env")
    monkeypatch.setenv("TOOLSMITH_SANDBOX__TIMEOUT", "2.5")
    monkeypatch.setenv("TOOLSMITH_CHECKS__ALLOWED_IMPORTS", "PIL, yaml")
    c = config.load()
    assert c.engine.model == "from-env"
    assert c.sandbox.timeout == 2.5
    assert c.checks.allowed_imports == ["PIL", "yaml"]


def test_bad_environment_override(monkeypatch):
    monkeypatch.setenv("TOOLSMITH_SANDBOX__TIMEOUT", "never")
    with pytest.raises(ConfigError, match="sandbox.timeout"):
        config.load()
    monkeypatch.setenv("TOOLSMITH_SANDBOX__TIMOUT", "1")
    with pytest.raises(ConfigError, match="TOOLSMITH_SANDBOX__TIMOUT: unknown key 'timout'"):
        config.load()


def test_config_cli(run_cli, toolsmith_home):
    write("[engine]\nmodel = 'smol'\n")
    shown = run_cli("config", "show", "--json")
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["engine"]["model"] == "smol"
    where = run_cli("config", "path", "--json")
    assert json.loads(where.stdout)["config"] == str(toolsmith_home / "config" / "config.toml")
    assert run_cli("config", "path").stdout.strip() == str(toolsmith_home / "config" / "config.toml")


def test_config_cli_error_is_one_line(run_cli):
    write("[engine]\nmodle = 1\n")
    result = run_cli("config", "show")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.stderr


def test_config_show_on_a_fresh_home_leaves_unset_keys_out(run_cli):
    shown = run_cli("config", "show")
    assert shown.returncode == 0, shown.stderr
    assert "[forge]" in shown.stdout and "recipe_threshold" not in shown.stdout
    assert config.load().forge.recipe_threshold is None
