"""Every hook is documented under a heading that is its exact signature."""

import re
from pathlib import Path

import pytest

from toolsmith.core.base.plugin_host import pm

DOCS = Path(__file__).parent.parent / "docs" / "plugin-hooks.md"
HEADINGS = set(re.findall(r"^## (.+)$", DOCS.read_text(), re.MULTILINE))
HOOKS = [name for name in dir(pm.hook) if name.startswith("toolsmith_")]


def test_there_are_hooks():
    assert len(HOOKS) >= 5


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook):
    caller = getattr(pm.hook, hook)
    signature = f"{hook}({', '.join(caller.spec.argnames)})"
    assert signature in HEADINGS, f"docs/plugin-hooks.md needs a section '## {signature}'"


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_has_docstring(hook):
    doc = getattr(pm.hook, hook).spec.function.__doc__ or ""
    assert "Called" in doc and ":return:" in doc
