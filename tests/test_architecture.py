"""The walls between layers (docs/architecture.md) hold, and light commands stay light."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)} if pythonpath else None
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_every_wall_holds():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " broken" in result.stdout and "0 broken" in result.stdout


def test_a_deliberate_violation_breaks_its_wall(tmp_path):
    """A copy of the source with two violations planted: each contract names its own."""
    package = tmp_path / "src" / "toolsmith"
    for part in ("core", "plugins", "sandbox"):
        shutil.copytree(ROOT / part, package / part, ignore=shutil.ignore_patterns("__pycache__", "recipes"))
    (package / "plugins" / "recipes").mkdir()
    (package / "plugins" / "recipes" / "__init__.py").write_text("")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (package / "sandbox" / "leak.py").write_text("from toolsmith.core.base import paths\n")
    (package / "core" / "base" / "upward.py").write_text("def f():\n    from toolsmith.core.frontends import cli\n")

    result = lint_imports(tmp_path, pythonpath=tmp_path / "src")
    assert result.returncode != 0
    broken = set(re.findall(r"^(.+) BROKEN$", result.stdout, re.M))
    assert broken == {
        "core layers: each imports only the layers below it",
        "the sandbox is self-contained: nothing of toolsmith.core or the plugins",
    }, result.stdout
    assert "toolsmith.sandbox.leak -> toolsmith.core.base" in result.stdout
    assert "toolsmith.core.base.upward -> toolsmith.core.frontends" in result.stdout


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["list"], ["check", "FILE"]])
def test_light_commands_import_neither_torch_nor_httpx(args, tmp_path):
    source = tmp_path / "tool.py"
    source.write_text('def main():\n    print("hi")\n\n\nif __name__ == "__main__":\n    main()\n')
    args = [str(source) if a == "FILE" else a for a in args]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "toolsmith.core.frontends.cli", *args],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "toolsmith.core.frontends.cli" in imported  # the measurement saw the CLI itself
    assert not {"torch", "httpx"} & imported


def test_importing_any_submodule_first_leaves_runs_working(run_cli, tmp_path):
    """No package attribute shadows a submodule: importing every module of the sandbox and
    the tools layer before a run (as a plugin or a test might) changes nothing."""
    assert run_cli("new", "lowercase file extensions", "--recipe", "lowercase-extensions").returncode == 0
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "IMG_1.JPG").write_bytes(b"jpeg")
    code = (
        "import importlib, pkgutil, sys\n"
        "import toolsmith.sandbox, toolsmith.core.tools\n"
        "for package in (toolsmith.sandbox, toolsmith.core.tools):\n"
        "    for module in pkgutil.iter_modules(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(module.name)\n"
        "from toolsmith.core.frontends.cli import main\n"
        "main(['run', '--preview', 'lowercase-extensions', sys.argv[1]])\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "plan: 1 renamed" in result.stdout
    assert "IMG_1.JPG -> IMG_1.jpg" in result.stdout
