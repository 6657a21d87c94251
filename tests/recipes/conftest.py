"""Fixtures for the recipe tests live in recipe_helpers (a uniquely named module, so
test files can import its helpers without clashing with other folders' conftest)."""

from recipe_helpers import run_plain_tool, run_tool  # noqa: F401  (fixtures)
