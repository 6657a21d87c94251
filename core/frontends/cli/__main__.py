"""`python -m toolsmith.core.frontends.cli` runs the CLI (what tests and subprocesses use)."""

from . import main

main()
