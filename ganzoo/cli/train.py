"""``ganzoo train``: one flag per option and per slot of the kinds table, all derived from their declarations."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console

from ..config import option_params
from ..errors import ConfigError, GanzooError, ParameterError
from ..registry.kinds import GROUP_HELP, SHORTHANDS, SLOT_GROUPS, SLOTS
from .tables import show

EXIT_SIGNAL = {"SIGINT": 130, "SIGTERM": 143}


def _keys(layout: Any) -> set[str]:
    """The options and slots a layout of settings sets (a group such as ``opt`` names each of its slots); a slot's
    table without a name only tunes the component chosen elsewhere, so it does not count for that slot."""
    slots = set(SLOTS) | set(SLOT_GROUPS)
    keys = {k for k, v in layout.items() if k not in slots or not isinstance(v, dict) or "name" in v} \
        if isinstance(layout, dict) else set()
    return keys | {slot for group in keys & set(SLOT_GROUPS) for slot in SLOT_GROUPS[group]}


def _run_defaults() -> tuple[dict[str, Any], str, set[str], set[str]]:
    """The default run's settings (option and slot names to values), its dataset, what the data layers set for some
    dataset (its suggestions, the defaults for its kind of data) and what some component's suggestions set."""
    from ..config import resolve_config
    from ..registry.registry import default_registry

    registry = default_registry()
    config = resolve_config(registry)
    values = {name: getattr(config, name) for name in option_params()}
    values.update({slot.name: config.component(slot.name).name for slot in SLOTS.values() if not slot.many})
    by_data, by_components = set(), set()
    for kind in {slot.kind for slot in SLOTS.values()}:
        for provided in registry.components(kind):
            spec = provided.spec
            (by_data if kind == SLOTS["dataset"].kind else by_components).update(_keys(spec.suggested))
            if kind != SLOTS["dataset"].kind or spec.shape is None:
                continue
            try:  # the defaults for this dataset's kind of data, where its shape is known without its files
                data = spec.data_spec(spec.resolve({}, None))
                for defaults in registry.defaults():
                    by_data |= _keys(defaults.spec.for_data(data) or {})
            except GanzooError:
                continue  # a dataset that needs a path (folder, points-file) tells its shape only from its files
    return values, config.dataset.name, by_data, by_components


def _shown_default(ctx: click.Context, name: str, declared: Any) -> str:
    """The default ``--help`` shows: the value the default run uses, and where another run's value comes from."""
    if "ganzoo_defaults" not in ctx.meta:
        try:
            ctx.meta["ganzoo_defaults"] = _run_defaults()
        except GanzooError:  # a broken third-party defaults record: help still shows, with ganzoo's own defaults
            ctx.meta["ganzoo_defaults"] = None
    known = ctx.meta["ganzoo_defaults"]
    if known is None:
        return f"{show(declared, 'none')} before the defaults for the kind of data"
    values, dataset, by_data, by_components = known
    text = show(values.get(name, declared), "none")
    if name in by_data:
        text += f" for {dataset}; other datasets: from the defaults for the kind of data and the dataset"
    if name in by_components:
        text += ", or what a chosen component suggests"
    return text


class _DefaultShown(click.Option):
    """An option whose help ends in the default a run really uses: the defaults for the kind of data and the
    dataset's suggestions change ganzoo's own (6000 steps on the parabola, not 3000). Worked out when help is shown,
    so that training never pays for it."""

    def __init__(self, *args: Any, default_for: str, declared: Any, bounds: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base_help, self.default_for, self.declared, self.bounds = self.help, default_for, declared, bounds

    def get_help_record(self, ctx: click.Context):
        self.help = f"{self.base_help} [default: {_shown_default(ctx, self.default_for, self.declared)}{self.bounds}]"
        return super().get_help_record(ctx)


def _option_decorators():
    decorators = []
    for name, param in option_params().items():
        flag = "--" + name.replace("_", "-")
        shown = {"cls": _DefaultShown, "default_for": name, "declared": param.default, "help": param.help,
                 "bounds": f"; {param.range}" if param.range else ""}
        if param.type is bool:
            decorators.append(click.option(f"{flag}/--no-{flag[2:]}", name, default=None, **shown))
        else:
            metavar = param.type_name.upper()
            if metavar.startswith("LIST["):  # list[str] -> STR,... (written with commas)
                metavar = f"{metavar[5:-1]},..."
            decorators.append(click.option(flag, name, default=None, metavar=metavar, **shown))
    return decorators


def _slot_decorators():
    """One flag per slot of the kinds table (repeatable for the slots holding several), per group of slots, and
    per shorthand."""
    decorators = []
    for slot in SLOTS.values():
        if slot.many:
            decorators.append(click.option(*slot.flags, slot.name, multiple=True, metavar="NAME",
                                           help=f"{slot.help} (repeatable, in order; `none` for none; see "
                                                f"`ganzoo list {slot.kind}`)"))
        else:
            decorators.append(click.option(*slot.flags, slot.name, metavar="NAME", cls=_DefaultShown,
                                           default_for=slot.name, declared=slot.default,
                                           help=f"{slot.help} (see `ganzoo list {slot.kind}`)"))
    for group in SLOT_GROUPS:
        decorators.append(click.option(f"--{group}", group, metavar="NAME", help=GROUP_HELP[group]))
    for shorthand in SHORTHANDS.values():
        decorators.append(click.option(f"--{shorthand.name}", f"shorthand_{shorthand.name}",
                                       metavar=shorthand.metavar,
                                       help=f"{shorthand.help} (short for --set {shorthand.target}=...)"))
    return decorators


def _with_options(func):
    for decorator in reversed([*_slot_decorators(), *_option_decorators()]):
        func = decorator(func)
    return func


def _slot_flags(options: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Pop the component flags out of ``options``: names and lists of names (``none`` clears) in the config
    layout, and the shorthands as the ``--set`` items they stand for."""
    chosen: dict[str, Any] = {}
    for slot in SLOTS.values():
        value = options.pop(slot.name, None)
        if slot.many:
            if value:
                chosen[slot.name] = [] if list(value) == ["none"] else list(value)
        elif value is not None:
            chosen[slot.name] = value
    for group in SLOT_GROUPS:
        value = options.pop(group, None)
        if value is not None:
            chosen[group] = value
    sets = []
    for shorthand in SHORTHANDS.values():
        value = options.pop(f"shorthand_{shorthand.name}", None)
        if value is not None:
            sets.append(f"{shorthand.target}={value}")
    return chosen, sets


@click.command("train")
@click.option("--set", "sets", multiple=True, metavar="KIND.PARAM=VALUE",
              help="set a component parameter, e.g. generator.hidden=256,512, reg.r1.weight=5 or opt.betas=0,0.9 "
                   "(repeatable)")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML file with the same settings")
@click.option("--recipe", help="start from a named configuration (see `ganzoo recipes`); other flags override it")
@_with_options
@click.option("--out", type=click.Path(file_okay=False),
              help="run directory [default: runs/<time>-<g>-<d>-<loss>-<data>]")
@click.option("--resume", type=click.Path(file_okay=False), help="continue the run in this directory")
@click.option("--data-changed-ok", is_flag=True,
              help="with --resume: continue although the data changed since the checkpoint")
@click.option("-q", "--quiet", is_flag=True, help="print only the summary")
@click.option("--report", "reports", multiple=True, metavar="NAME",
              help="mirror the run's metrics and samples to a reporter, e.g. mlflow or tensorboard (repeatable; see "
                   "`ganzoo list reporters`)")
@click.option("--tensorboard", is_flag=True, help="--report tensorboard: losses, D outputs, metrics and samples as "
                                                  "TensorBoard event files in the run directory (needs `pip install "
                                                  "'ganzoo[tensorboard]'`)")
def train_command(sets, config_file, recipe, out, resume, data_changed_ok, quiet, reports, tensorboard,
                  **options) -> int:
    """Train a GAN from any mix of components (defaults: mlp / mlp / nonsaturating / parabola), e.g.
    `ganzoo train --dataset mnist -g cgan -d projection -l hinge --reg r1 --augment diffaugment`."""
    from ..api import train
    from ..config import flag_message
    from ..run.progress import make_reporter
    from .tables import summary_table

    components, shorthand_sets = _slot_flags(options)
    declared = option_params()
    typed = {}
    for key, text in options.items():
        if text is None:
            continue
        try:
            typed[key] = text if isinstance(text, bool) else declared[key].parse(text)
        except ParameterError as err:
            raise ConfigError(flag_message(key, err)) from None
    reporter = make_reporter(quiet)
    result = train(config=config_file, set=[*shorthand_sets, *sets], out=out, resume=resume, reporter=reporter,
                   recipe=recipe, tensorboard=tensorboard, report=reports, data_changed_ok=data_changed_ok,
                   **components, **typed)
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
