"""`python -m toolsmith.core.cli` runs the CLI (what tests and subprocesses use)."""

from . import main

main()
