"""Plugin loading: built-ins, single files, allowlist, tracing and typo detection."""

import json
import textwrap

from toolsmith.core.base import paths
from toolsmith.core.base.plugin_host import DEFAULT_PLUGINS


def plugin_file(name: str, body: str):
    folder = paths.plugins_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


SHOUT = """
    import click
    from toolsmith.core import hookimpl

    @hookimpl
    def toolsmith_register_commands(cli):
        @cli.command()
        @click.argument("text")
        def shout(text):
            click.echo(text.upper() + "!")
"""


def plugins_json(run_cli, **env):
    result = run_cli("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_builtins_load_like_third_party_plugins(run_cli):
    rows = plugins_json(run_cli)
    for module in DEFAULT_PLUGINS:
        assert module.rsplit(".", 1)[-1] in rows
    assert "toolsmith_register_languages" in rows["python"]["hooks"]
    assert "toolsmith_register_engines" in rows["native_backend"]["hooks"]
    assert rows["native_backend"]["engines"] == [{"name": "native", "available": True, "reason": None}]


def test_plugins_say_why_an_engine_cannot_run(run_cli):
    plugin_file(
        "far_engine",
        """
        from toolsmith.core import hookimpl
        from toolsmith.core.inference.backends import Backend

        @hookimpl
        def toolsmith_register_engines(register):
            register(Backend(name="far", description="d", create=lambda **o: None, unavailable=lambda: "needs a quantum computer"))
        """,
    )
    rows = plugins_json(run_cli)
    assert rows["far_engine"]["engines"] == [{"name": "far", "available": False, "reason": "needs a quantum computer"}]
    assert "engine far: unavailable: needs a quantum computer" in run_cli("plugins").stdout


def test_single_file_plugin_adds_a_command(run_cli):
    plugin_file("shout", SHOUT)
    assert plugins_json(run_cli)["shout"]["hooks"] == ["toolsmith_register_commands"]
    result = run_cli("shout", "hi")
    assert (result.returncode, result.stdout) == (0, "HI!\n")


def test_allowlist_loads_only_named_plugins(run_cli):
    plugin_file("shout", SHOUT)
    assert set(plugins_json(run_cli, TOOLSMITH_LOAD_PLUGINS="shout,python")) == {"shout", "python"}
    assert plugins_json(run_cli, TOOLSMITH_LOAD_PLUGINS="") == {}


def test_misspelled_hook_names_the_plugin(run_cli):
    plugin_file(
        "typo",
        """
        from toolsmith.core import hookimpl

        @hookimpl
        def toolsmith_register_comands(cli):
            pass
        """,
    )
    result = run_cli("plugins")
    assert result.returncode == 1
    assert "plugin 'typo'" in result.stderr and "toolsmith_register_comands" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_plugin_file_is_a_clear_error(run_cli):
    plugin_file("broken", "import does_not_exist_anywhere\n")
    result = run_cli("plugins")
    assert result.returncode == 1
    assert "broken.py failed to load: ModuleNotFoundError" in result.stderr


def test_plugin_with_wrong_argument_is_rejected(run_cli):
    plugin_file(
        "badargs",
        """
        from toolsmith.core import hookimpl

        @hookimpl
        def toolsmith_register_commands(cli, extra):
            pass
        """,
    )
    result = run_cli("plugins")
    assert result.returncode == 1
    assert "plugin 'badargs'" in result.stderr and "extra" in result.stderr


def test_trace_prints_hook_calls(run_cli):
    plugin_file("shout", SHOUT)
    result = run_cli("shout", "x", env={"TOOLSMITH_TRACE_PLUGINS": "1"})
    assert result.returncode == 0
    assert "[toolsmith] toolsmith_register_commands(" in result.stderr
    assert "shout" in result.stderr


def test_in_process_registration_is_attributed():
    from toolsmith.core import hookimpl
    from toolsmith.core.base.plugin_host import collect, pm

    class Extra:
        __name__ = "extra-language"

        @hookimpl
        def toolsmith_register_languages(self, register):
            register("marker")

    pm.register(Extra(), name="extra-language")
    try:
        assert ("extra-language", "marker") in collect("toolsmith_register_languages")
    finally:
        pm.unregister(name="extra-language")
