"""The `toolsmith` command line.

Exit codes: 0 ok, 1 error (one line on stderr, no traceback unless --debug),
2 usage error. Every command that prints data takes --json.
"""

import sys

import click

from ..errors import ToolsmithError
from ..plugins import load_plugins, pm
from . import check, config, forge, live, models, plugins, recipes, runs, sandbox, schema, serve, tools

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="toolsmith")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Describe a small tool in plain words; get a checked, sandboxed, reusable program."""
    ctx.obj = {"debug": debug}


for module in (forge, tools, check, recipes, runs, sandbox, models, config, plugins, schema, serve, live):
    module.register(cli)


def build() -> click.Group:
    """Load plugins and let them add their commands (idempotent)."""
    if not getattr(cli, "_plugins_added", False):
        load_plugins()
        pm.hook.toolsmith_register_commands(cli=cli)
        cli._plugins_added = True
    return cli


def _recover_interrupted_runs() -> None:
    """An apply or undo cut short by a crash is rolled back before anything else runs."""
    from toolsmith.sandbox.runs import recover

    for line in recover():
        click.echo(f"recovered: {line}", err=True)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        _recover_interrupted_runs()
        group = build()
        code = group.main(args=argv, prog_name="toolsmith", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_USAGE if isinstance(e, click.UsageError) else EXIT_ERROR)
    except ToolsmithError as e:
        if debug:
            raise
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as e:
        if debug:
            raise
        click.echo(f"error: {type(e).__name__}: {e} (run with --debug for the traceback)", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)  # ctx.exit(n) comes back as n
