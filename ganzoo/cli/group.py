"""The ``ganzoo`` command group: every command, and every user mistake turned into one ``error:`` line on stderr and a
non-zero exit. The commands themselves live in the modules beside this one."""

from __future__ import annotations

import sys
from typing import Any

import click

from .. import __version__
from ..errors import GanzooError, did_you_mean
from ..registry.registry import default_registry
from .export import export_command
from .listing import list_command, plugins_command
from .outputs import evaluate_command, sample_command
from .scaffold import new_plugin_command
from .sweep import sweep_command
from .train import train_command
from .zoo import compare_command, recipes_command, runs_command


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class GanzooGroup(click.Group):
    """A click group that turns every user error into one line and finds plugin commands lazily (a built-in
    command keeps its name)."""

    # Plugin commands are looked up in the registry on every call rather than added to this module-level group
    # once: the registry changes under a running process (``ganzoo.register`` in a notebook, each test's plugins),
    # and a command added once would outlive its plugin and hide the commands of plugins registered later.
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *default_registry().commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or default_registry().commands().get(name)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            hint = did_you_mean(name, self.list_commands(ctx))
            raise click.UsageError(f"no command '{name}'{hint} (commands: {', '.join(self.list_commands(ctx))})")
        return super().resolve_command(ctx, args)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra: Any):
        try:
            result = super().main(args, prog_name or "ganzoo", complete_var, standalone_mode=False, **extra)
        except GanzooError as err:
            _fail(str(err))
        except click.UsageError as err:
            command = err.ctx.command_path if err.ctx else "ganzoo"
            _fail(f"{err.format_message()} (see `{command} --help`)", 2)
        except click.ClickException as err:
            _fail(err.format_message(), err.exit_code)
        except (click.Abort, KeyboardInterrupt):
            click.echo("aborted", err=True)
            sys.exit(130)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result


@click.group(cls=GanzooGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="ganzoo", message="%(prog)s %(version)s")
def cli() -> None:
    """ganzoo: mix generators, discriminators, losses and datasets from plugins into a GAN training run."""


for _command in (plugins_command, list_command, train_command, sample_command, evaluate_command, export_command,
                 new_plugin_command, recipes_command, runs_command, compare_command, sweep_command):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="ganzoo")
