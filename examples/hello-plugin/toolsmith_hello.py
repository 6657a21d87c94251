"""An example Toolsmith plugin.

It adds a `toolsmith hello` command and a source check that warns about TODO
comments in tools. Install it next to Toolsmith (`pip install -e examples/hello-plugin`)
and `toolsmith plugins` lists it.
"""

import click

from toolsmith.core import hookimpl
from toolsmith.core.base.diagnostics import Diagnostic, snippet


@hookimpl
def toolsmith_register_commands(cli):
    @cli.command()
    @click.argument("name", default="world")
    def hello(name):
        """Greet NAME (a command added by the hello plugin)."""
        click.echo(f"hello, {name}!")


@hookimpl
def toolsmith_check_source(source):
    diagnostics = []
    for number, line in enumerate(source.splitlines(), start=1):
        column = line.find("TODO")
        if column >= 0:
            diagnostics.append(
                Diagnostic(
                    rule="hello/todo",
                    message="unfinished TODO left in the tool",
                    line=number,
                    column=column + 1,
                    severity="warning",
                    snippet=snippet(source, number, column + 1, 4),
                )
            )
    return diagnostics
