"""Rough edges a new user hits: --json errors are JSON, a taken port is one error, import --requires."""

import json
import socket

from toolsmith.core.tools.library import Library


def test_json_errors_of_show_import_and_models_are_one_json_object(run_cli, tmp_path):
    for args, named in (
        (("show", "no-such-tool"), "no-such-tool"),
        (("import", tmp_path / "missing.py"), "missing.py"),
        (("models", "add", tmp_path / "no-model"), "no-model"),
        (("models", "quantize", tmp_path / "no-model", tmp_path / "out"), "no-model"),
    ):
        result = run_cli(*args, "--json")
        assert result.returncode == 1 and result.stderr == "", args
        error = json.loads(result.stdout)
        assert error["type"] == "error" and named in error["message"], args


def test_a_usage_error_under_json_is_json_and_exits_2(run_cli):
    result = run_cli("new", "sort lines", "--recipe", "sort-lines", "--generate", "--json")
    assert result.returncode == 2 and "contradict" in json.loads(result.stdout)["message"]


def test_serve_on_a_port_in_use_is_one_error_and_exit_1(run_cli):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", port)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: 127.0.0.1:{port} is already in use (another `toolsmith serve`?); pass --port or stop the other server"]


SCRIPT = '"""Print a picture\'s size."""\nimport sys\n\nfrom PIL import Image\n\n\ndef main():\n    print(Image.open(sys.argv[1]).size)\n\n\nif __name__ == "__main__":\n    main()\n'


def test_import_declares_what_a_script_requires(run_cli, tmp_path):
    script = tmp_path / "size.py"
    script.write_text(SCRIPT)
    refused = run_cli("import", script)
    assert refused.returncode == 1 and "--requires MODULE" in refused.stderr
    imported = run_cli("import", script, "--requires", "PIL,numpy", "--requires", "PIL")
    assert imported.returncode == 0, imported.stderr
    assert Library().load("size").manifest.requires == ["PIL", "numpy"]



def test_progress_bars_draw_on_a_terminal_and_stay_off_when_piped(monkeypatch, capsys):
    import sys

    from toolsmith.core.frontends.cli.output import progress_bar

    with progress_bar("quantizing tiny") as progress:
        progress(1, 2)
    assert capsys.readouterr().err == ""  # piped: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with progress_bar("loading the model"):
        pass  # no model to load: nothing reported, nothing drawn
    assert capsys.readouterr().err == ""
    with progress_bar("quantizing tiny") as progress:
        progress(1, 2)
        progress(2, 2)
    assert "quantizing tiny" in capsys.readouterr().err
    with progress_bar("quantizing tiny", shown=False) as progress:  # --json
        progress(1, 2)
    assert capsys.readouterr().err == ""
