"""A built wheel holds every package and imports on its own, without the editable install."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent

IMPORT_FROM_WHEEL = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__name__", type(f).__name__).lower()]
sys.path_hooks[:] = [h for h in sys.path_hooks if "editable" not in repr(h).lower()]
sys.path_importer_cache.clear()
sys.path.insert(0, sys.argv[1])
import toolsmith.core.frontends.cli, toolsmith.plugins.python, toolsmith.sandbox, toolsmith.core.engine
for module in (toolsmith.core.frontends.cli, toolsmith.plugins.python, toolsmith.sandbox, toolsmith.core.engine):
    assert module.__file__.startswith(sys.argv[1]), module.__file__
print("ok")
"""


def test_wheel_contains_and_imports_every_package(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("toolsmith-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("toolsmith/core/base/hookspecs.py", "toolsmith/core/frontends/cli/__init__.py", "toolsmith/plugins/python/__init__.py", "toolsmith/sandbox/__init__.py"):
        assert expected in names
    assert any(n.endswith("entry_points.txt") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    result = subprocess.run([sys.executable, "-c", IMPORT_FROM_WHEEL, str(site)], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
