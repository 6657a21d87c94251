"""The `toolsmith` command line.

Exit codes: 0 ok, 1 error (one line on stderr, no traceback unless --debug),
2 usage error. Every command that prints data takes --json.
"""

import importlib
import sys

import click

from ...base.terminal import safe
from ..errors import USER_ERRORS

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

# Built-in commands: name -> (module in this package, attribute). A command's module
# is imported only when that command runs, so `toolsmith sandbox exec` does not pay
# for the forge, the HTTP server or the plugins.
COMMANDS = {
    "new": ("forge", "new"),
    "edit": ("forge", "edit"),
    "run": ("run", "run"),
    "list": ("tools", "list_tools"),
    "show": ("tools", "show"),
    "history": ("tools", "history"),
    "diff": ("tools", "diff"),
    "restore": ("tools", "restore"),
    "rm": ("tools", "rm"),
    "trash": ("tools", "trash"),
    "import": ("tools", "import_tool"),
    "check": ("check", "check"),
    "recipes": ("recipes", "recipes_group"),
    "runs": ("runs", "runs"),
    "logs": ("logs", "logs"),
    "undo": ("runs", "undo"),
    "sandbox": ("sandbox", "sandbox"),
    "models": ("models", "models"),
    "serve": ("serve", "serve"),
    "watch": ("live", "watch"),
    "dev": ("live", "dev"),
    "lsp": ("live", "lsp"),
    "config": ("config", "config"),
    "plugins": ("plugins", "plugins"),
    "schema": ("schema", "schema"),
}


class ToolsmithGroup(click.Group):
    """Built-in commands load on first use; plugins' commands load with the plugins."""

    plugins_added = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.add_plugin_commands()
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            module, attribute = COMMANDS[name]
            return getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
        self.add_plugin_commands()
        return self.commands.get(name)

    def add_plugin_commands(self) -> None:
        if not self.plugins_added:
            from ...base.plugin_host import load_plugins

            self.plugins_added = True
            load_plugins().hook.toolsmith_register_commands(cli=self)


@click.group(cls=ToolsmithGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="toolsmith")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Describe a small tool in plain words; get a checked, sandboxed, reusable program."""
    ctx.obj = {"debug": debug}


def _recover_interrupted_runs() -> None:
    """An apply or undo cut short by a crash is rolled back before anything else runs."""
    from ...base import paths

    if not (paths.data_dir() / "runs").is_dir():
        return  # nothing ever ran: skip importing the journal machinery
    from ...tools import run_service

    for line in run_service.recover():
        click.echo(f"recovered: {safe(line)}", err=True)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        _recover_interrupted_runs()
        code = cli.main(args=argv, prog_name="toolsmith", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_USAGE if isinstance(e, click.UsageError) else EXIT_ERROR)
    except USER_ERRORS as e:
        if debug:
            raise
        click.echo(f"error: {safe(str(e))}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as e:
        if debug:
            raise
        click.echo(f"error: {type(e).__name__}: {safe(str(e))} (run with --debug for the traceback)", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_OK)  # ctx.exit(n) comes back as n
