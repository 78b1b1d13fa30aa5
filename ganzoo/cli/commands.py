"""The ``ganzoo`` command line. User mistakes become one ``error:`` line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import __version__
from ..errors import ConfigError, GanzooError, did_you_mean
from ..messages import note as show_note
from ..registry.kinds import COMPONENT_KINDS, KINDS, SLOTS
from ..registry.registry import default_registry

EXIT_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class GanzooGroup(click.Group):
    """A click group that turns every user error into one line and finds plugin commands lazily."""

    _plugins_added = False

    def _add_plugin_commands(self) -> None:
        if not self._plugins_added:
            self._plugins_added = True
            default_registry().add_commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is None:
            self._add_plugin_commands()
            command = super().get_command(ctx, name)
        return command

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


# -- ganzoo plugins -----------------------------------------------------------------------------------------------


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """Show the installed plugins: distribution, version, status and what each provides."""
    plugins = default_registry().plugins()
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in plugins], indent=2))
        return
    table = Table(title="ganzoo plugins", title_justify="left")
    for column in ("plugin", "distribution", "version", "status", "provides / error"):
        table.add_column(column)
    colors = {"ok": "green", "error": "red", "skipped": "yellow"}
    for p in plugins:
        detail = p.error if p.status != "ok" else "; ".join(
            f"{kind}: {', '.join(names)}" for kind, names in p.provides.items()
        )
        status = f"[{colors.get(p.status, 'white')}]{p.status}[/]"
        table.add_row(p.name, p.dist or "(in-process)", p.version or "-", status, detail or "-")
    Console().print(table)


# -- ganzoo list --------------------------------------------------------------------------------------------------


#: Record fields that say how a component fits a mix, as ``ganzoo list`` shows them (when set).
_TRAITS = {
    "conditional": lambda v: "conditional (takes class labels)" if v else "",
    "outputs": lambda v: f"outputs: logits, {', '.join(v)}" if v else "",
    "needs_outputs": lambda v: f"reads D's {', '.join(v)}" if v else "",
    "needs_labels": lambda v: f"needs {' and '.join(v)} labels" if v else "",
    "player": lambda v: f"acts on the {v}",
    "citation": lambda v: v,
}


def _component_dict(provided, conflicts: set[str]) -> dict[str, Any]:
    spec = provided.spec
    traits = {key: getattr(spec, key) for key in _TRAITS if getattr(spec, key, None) not in (None, (), "", False)}
    return {
        "name": spec.name,
        "aliases": list(spec.aliases),
        "qualified": provided.qualified,
        "provider": provided.plugin.dist or provided.plugin.name,
        "version": provided.plugin.version,
        "description": spec.description,
        "data_kinds": list(spec.data_kinds),
        "conflict": spec.name in conflicts,
        "suggested": dict(spec.suggested) or None,
        "traits": {k: list(v) if isinstance(v, tuple) else v for k, v in traits.items()},
        "params": [
            {"name": p.name, "type": p.type_name, "default": p.default, "help": p.help,
             "choices": list(p.choices) if p.choices else None}
            for p in spec.params
        ],
    }


@cli.command("list")
@click.argument("kind", required=False)
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def list_command(kind: str | None, name: str | None, as_json: bool) -> None:
    """List components: all kinds, one KIND (generators, discriminators, losses, datasets, optimizers,
    augmentations, regularisers, constraints) or one NAME."""
    registry = default_registry()
    kinds = [registry.plural(kind)] if kind else list(COMPONENT_KINDS)
    listing: dict[str, list[dict]] = {}
    for plural in kinds:
        conflicts = registry.conflicts(plural)
        items = [_component_dict(p, conflicts) for p in registry.components(plural)]
        if name is not None:
            spec = registry.get(plural, name)  # unknown names get "did you mean"
            items = [i for i in items if i["name"] == spec.name]
        listing[plural] = sorted(items, key=lambda i: (i["name"], i["provider"]))
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    console = Console()
    for plural, items in listing.items():
        table = Table(title=plural, title_justify="left", show_lines=True)
        table.add_column("name", style="bold cyan", no_wrap=True)
        table.add_column("provider")
        table.add_column("description")
        table.add_column("parameters (type = default: help)")
        for item in items:
            label = escape(item["name"]) + (f"\n({escape(', '.join(item['aliases']))})" if item["aliases"] else "")
            if item["conflict"]:
                label += f"\n[red]conflict: use {escape(item['qualified'])}[/]"
            params = "\n".join(
                f"[bold]{p['name']}[/]: {escape(p['type'])} = {escape(_show(p['default']))}: {escape(p['help'])}"
                for p in item["params"]
            )
            provider = item["provider"] + (f" {item['version']}" if item["version"] else "")
            description = escape(item["description"])
            for key, value in item["traits"].items():
                text = escape(_TRAITS[key](value))
                description += f"\n[dim]{text}[/]" if key == "citation" else f"\n{text}"
            if item["suggested"]:
                suggests = ", ".join(_suggestion(k, v) for k, v in item["suggested"].items())
                description += f"\nsuggests: {escape(suggests)}"
            table.add_row(label, escape(provider), description, params or "-")
        console.print(table)


def _suggestion(key: str, value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}.{k}={_show(v)}" if k != "name" else f"{key}={_show(v)}" for k, v in value.items())
    return f"{key}={_show(value)}"


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


# -- ganzoo train -------------------------------------------------------------------------------------------------


def _option_decorators():
    from ..config.resolve import option_params

    decorators = []
    for name, param in option_params().items():
        flag = "--" + name.replace("_", "-")
        help_text = f"{param.help} [default: {_show(param.default)}]"
        if param.type is bool:
            decorators.append(click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=help_text))
        else:
            decorators.append(click.option(flag, name, default=None, metavar=param.type_name.upper(),
                                           help=help_text))
    return decorators


def _slot_decorators():
    """One flag per slot of ``ganzoo/kinds.py`` (repeatable for the slots holding several), then the shortcuts."""
    decorators = []
    for slot in SLOTS.values():
        if slot.many:
            decorators.append(click.option(*slot.flags, slot.name, multiple=True, metavar="NAME",
                                           help=f"{slot.help} (repeatable, in order; `none` for none; see "
                                                f"`ganzoo list {slot.kind}`)"))
        else:
            decorators.append(click.option(*slot.flags, slot.name, metavar="NAME",
                                           help=f"{slot.help} (see `ganzoo list {slot.kind}`) [default: "
                                                f"{slot.default}]"))
    decorators.append(click.option("--opt", "opt", metavar="NAME", help="both players' optimizer (--opt-g and "
                                   "--opt-d), e.g. adam, adamw, rmsprop, sgd"))
    decorators.append(click.option("--betas", "betas", metavar="B1,B2", help="betas of both optimizers that take "
                                   "them (Adam, AdamW), e.g. 0.0,0.9 [default: 0.5,0.999]"))
    return decorators


def _with_options(func):
    for decorator in reversed([*_slot_decorators(), *_option_decorators()]):
        func = decorator(func)
    return func


def _slot_flags(options: dict[str, Any]) -> dict[str, Any]:
    """Pop the component flags out of ``options``: names, lists of names (``none`` clears), the shortcuts."""
    from ..registry.params import Param

    chosen: dict[str, Any] = {}
    for slot in SLOTS.values():
        value = options.pop(slot.name, None)
        if slot.many:
            if value:
                chosen[slot.name] = [] if list(value) == ["none"] else list(value)
        elif value is not None:
            chosen[slot.name] = value
    if options.get("opt") is not None:
        chosen["opt"] = options.pop("opt")
    options.pop("opt", None)
    betas = options.pop("betas", None)
    if betas is not None:
        try:
            chosen["betas"] = Param("betas", list[float], None, "betas").parse(betas)
        except GanzooError as err:
            raise GanzooError(f"--betas: {err}") from None
    return chosen


@cli.command("train")
@click.option("--set", "sets", multiple=True, metavar="KIND.PARAM=VALUE",
              help="set a component parameter, e.g. generator.hidden=256,512, reg.r1.weight=5 or opt.betas=0,0.9 "
                   "(repeatable)")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML file with the same settings")
@click.option("--recipe", help="start from a named configuration (see `ganzoo recipes`); other flags override it")
@_with_options
@click.option("--out", type=click.Path(file_okay=False),
              help="run directory [default: runs/<time>-<g>-<d>-<loss>-<data>]")
@click.option("--resume", type=click.Path(file_okay=False), help="continue the run in this directory")
@click.option("-q", "--quiet", is_flag=True, help="print only the summary")
@click.option("--report", "reports", multiple=True, metavar="NAME",
              help="mirror the run's metrics and samples to a reporter, e.g. mlflow or tensorboard (repeatable; see "
                   "`ganzoo list reporters`)")
@click.option("--tensorboard", is_flag=True, help="--report tensorboard: losses, D outputs, metrics and samples as "
                                                  "TensorBoard event files in the run directory (needs `pip install "
                                                  "'ganzoo[tensorboard]'`)")
def train_command(sets, config_file, recipe, out, resume, quiet, reports, tensorboard, **options) -> int:
    """Train a GAN from any mix of components (defaults: mlp / mlp / nonsaturating / parabola), e.g.
    `ganzoo train --dataset mnist -g cgan -d projection -l hinge --reg r1 --augment diffaugment`."""
    from ..api import train
    from ..config.resolve import option_params
    from ..run.progress import make_reporter
    from .tables import summary_table

    components = _slot_flags(options)
    declared = option_params()
    typed = {}
    for key, text in options.items():
        if text is None:
            continue
        try:
            typed[key] = text if isinstance(text, bool) else declared[key].parse(text)
        except GanzooError as err:
            raise GanzooError(f"--{key.replace('_', '-')}: {err}") from None
    reporter = make_reporter(quiet)
    result = train(config=config_file, set=sets, out=out, resume=resume, reporter=reporter, recipe=recipe,
                   tensorboard=tensorboard, report=reports, **components, **typed)
    console = Console()
    if result.interrupted and not result.is_main:  # rank 0 tells the user; the other ranks only exit alike
        return EXIT_SIGNAL.get(result.interrupted, 1)
    if result.interrupted:
        click.echo(
            f"ganzoo: stopped by {result.interrupted} at step {result.step}; checkpoint saved. Resume with: "
            f"ganzoo train --resume {result.run_dir}", err=True,
        )
        return EXIT_SIGNAL.get(result.interrupted, 1)
    if result.is_main:
        console.print(summary_table(result))
    return 0


# -- ganzoo sample ------------------------------------------------------------------------------------------------


@cli.command("sample")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-n", "count", type=int, default=64, show_default=True, help="number of samples")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="FILE.png (grid or scatter plot) or FILE.pt (tensor of shape (N, *sample_shape))")
@click.option("--seed", type=int, default=0, show_default=True, help="noise seed (same seed, same samples)")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N | mps")
@click.option("--no-ema", is_flag=True, help="use the raw generator even when the run has an EMA copy")
@click.option("--label", type=int, default=None, help="a conditional run: draw every sample for this class (InfoGAN: "
                                                      "this categorical code) [default: every class in turn, one "
                                                      "row each]")
def sample_command(run_dir: str, count: int, output: str, seed: int, device: str, no_ema: bool,
                   label: int | None) -> None:
    """Write N samples of a trained run's generator (its EMA copy when there is one)."""
    from ..api import sample

    samples = sample(run_dir, count, seed=seed, device=device, use_ema=not no_ema, out=output, label=label)
    which = f" of class {label}" if label is not None else ""
    click.echo(f"wrote {len(samples)} samples{which} of shape {tuple(samples.shape[1:])} to {output}")


# -- ganzoo evaluate ----------------------------------------------------------------------------------------------


@cli.command("evaluate")
@click.argument("run_dir", type=click.Path())
@click.option("--dataset", default=None, help="with a samples file: the dataset to judge it against")
@click.option("--set", "sets", multiple=True, metavar="dataset.P=V", help="with a samples file: dataset parameters")
@click.option("--samples", "count", type=int, default=None, help="generated samples to evaluate [default: 5000]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--seed", type=int, default=12345, show_default=True, help="noise seed")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N | mps")
@click.option("--no-ema", is_flag=True, help="evaluate the raw generator even when the run has an EMA copy")
def evaluate_command(run_dir: str, dataset: str | None, sets: tuple[str, ...], count: int | None, as_json: bool,
                     seed: int, device: str, no_ema: bool) -> None:
    """Quality metrics of a trained run (RUN_DIR), or of a samples file made anywhere (SAMPLES.pt: images
    (N, C, H, W) in [0, 1] or points (N, D) in data coordinates) with --dataset NAME."""
    from contextlib import ExitStack

    from rich.progress import Progress

    from ..api import evaluate
    from .tables import metrics_table

    with ExitStack() as stack:
        bars: list[Progress] = []

        def progress(description: str, total: int):
            # started on first use only: an idle bar still writes a blank line to stderr when it stops
            if not bars:
                bars.append(stack.enter_context(Progress(console=Console(stderr=True), transient=True)))
            task = bars[0].add_task(description, total=total)
            return lambda steps=1: bars[0].advance(task, steps)

        if Path(run_dir).is_file() and dataset is None:
            raise ConfigError(f"{run_dir} is a file: to evaluate a samples file, name its dataset with --dataset NAME")
        if Path(run_dir).is_dir() or dataset is None:
            if dataset is not None or sets:
                raise ConfigError("--dataset and --set are for a samples file; a run is judged on its own dataset")
            metrics, evaluator = evaluate(run_dir, count, seed=seed, device=device, use_ema=not no_ema,
                                          progress=progress)
        else:
            from ..api import evaluate_file

            bad = [s for s in sets if not s.startswith(("dataset.", "data."))]
            if bad:
                raise ConfigError(f"--set {bad[0]}: a samples file is judged against a dataset only; set dataset.P=V")
            metrics, evaluator = evaluate_file(run_dir, dataset, sets, device=device, progress=progress)
    for note in evaluator.notes:
        show_note(note)
    if as_json:
        from ..run.rundir import finite_or_none

        click.echo(json.dumps(finite_or_none(metrics), indent=2))
        return
    Console().print(metrics_table(metrics, evaluator.descriptions(), evaluator.better(), f"ganzoo evaluate {run_dir}"))


# -- ganzoo new-plugin --------------------------------------------------------------------------------------------


@cli.command("new-plugin")
@click.argument("name")
@click.option("--kind", "kinds", multiple=True,
              type=click.Choice([k.singular for k in KINDS.values() if k.template]),
              help="a component kind to include (repeatable) [default: generator, discriminator, loss, dataset]")
@click.option("--dir", "parent", default=".", show_default=True, type=click.Path(file_okay=False),
              help="folder to create the package NAME in")
def new_plugin_command(name: str, kinds: tuple[str, ...], parent: str) -> None:
    """Write a ready plugin package NAME (e.g. ganzoo-mygan): pyproject with the entry point, a working component
    of each kind, a README and a test that passes after `pip install -e`."""
    from .scaffold import write_plugin

    target = write_plugin(name, kinds, parent, registry=default_registry())
    click.echo(f"wrote the ganzoo plugin {name} to {target}; next:")
    click.echo(f"  pip install -e {target}")
    click.echo(f"  pytest {target}")
    click.echo("  ganzoo list")


# -- ganzoo recipes, runs, compare (in cli_zoo.py) ----------------------------------------------------------------

from .zoo import compare_command, recipes_command, runs_command  # noqa: E402

for _command in (recipes_command, runs_command, compare_command):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="ganzoo")
