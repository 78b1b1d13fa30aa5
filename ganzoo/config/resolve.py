"""How a run's settings are resolved from layers into one checked :class:`TrainConfig`.

Settings come in layers; later wins:

1. ganzoo's defaults (the option declarations in ``options.py``);
2. defaults for the kind of data (``DefaultsSpec`` records: every 2-D point dataset, images by size), which may
   choose the models too;
3. the dataset's suggested options (tuning for that data: steps, batch size, learning rates);
4. a recipe (``--recipe NAME``, or ``recipe = "NAME"`` in the config file);
5. ``--config FILE.toml``;
6. command-line flags and ``--set``.

A component's own suggestions (``LossSpec(suggested=...)`` and the like) count as written in the layer that chose
the component, beneath that layer's own values: what a component needs to train well belongs to whoever chose it.
So ``-l wgan-gp`` on the command line brings 5 D steps and betas 0,0.9 even over a recipe or config file written for
another loss, ``-l wgan-gp --d-steps 3`` keeps 3, and a recipe that names wgan-gp and sets its own betas keeps them.
A dataset's suggestions are the exception: they are tuning, not requirements, so they stay in layer 3 whoever
chooses the dataset. Parameters a layer gives for a component belong to the component chosen at that layer; they are
dropped when a higher layer chooses another one. The result is written to ``config.toml``, which repeats the run on
its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data.contract import DataSpec
from ..errors import ConfigError, GanzooError, ParameterError, PluginError
from ..registry.kinds import SHORTHANDS, SLOT_GROUPS, SLOTS, Slot
from ..registry.registry import Registry
from ..registry.specs import ComponentSpec
from .layout import check_layout, load_config_file, slot_tables
from .metrics import check_metric_names, metric_records
from .options import Choice, TrainConfig, option_params
from .sets import parse_set


@dataclass
class _Layer:
    """One layer of settings (normalised by :func:`check_layout`) and the suggestions of what it chose."""

    where: str | None  # how errors name it; None: the user's own command line (errors need no prefix)
    values: dict[str, Any]
    soft: dict[str, Any] = field(default_factory=dict)
    #: The defaults' layer: suggestions of the components nobody named sit *above* its values.
    bottom: bool = False
    #: The user's own settings (flags, their config file): a parameter they give a group must reach a component.
    own: bool = False
    #: ganzoo's own choices (its defaults, the defaults by kind of data): a name that a third-party plugin also
    #: provides means the built-in component here, since no user chose it.
    builtin_names: bool = False
    #: Suggestions only (a dataset's): a parameter the chosen component does not declare is left out, not an error.
    lenient: bool = False

    def parts(self) -> list[tuple[dict[str, Any], bool]]:
        """``(settings, soft)`` pairs, lowest first."""
        return [(self.values, False), (self.soft, True)] if self.bottom else [(self.soft, True), (self.values, False)]


@contextmanager
def _blame(where: str | None) -> Iterator[None]:
    """Prefix a user error with the layer it came from (e.g. a recipe), keeping its type."""
    try:
        yield
    except GanzooError as err:
        if where is None:
            raise
        raise type(err)(f"{where}: {err}") from None


def _recipe_layer(registry: Registry, name: str) -> _Layer:
    """The recipe's settings, checked like a config file, named in errors by recipe and plugin."""
    provided = registry.recipe(name)
    where = f"recipe '{provided.spec.name}' ({provided.plugin.label})"
    return _Layer(where, check_layout(provided.spec.settings, where, recipe_key=False))


def _names(registry: Registry, kind: str, name: str | None, spec: ComponentSpec) -> bool:
    """Whether ``name`` (alias, qualified or plain) resolves to ``spec``."""
    if name is None:
        return False
    try:
        return registry.get(kind, name) is spec
    except GanzooError:
        return False


#: The slots components may suggest, resolved last and in this order.
SUGGESTED_LAST = ("regularisers", "augment", "opt_g", "opt_d")


#: The slots whose parameters a dataset may suggest (see :func:`_suggestions`).
MODEL_SLOTS = ("generator", "discriminator")


def _suggestions(spec: ComponentSpec) -> dict[str, Any]:
    """A component's suggested settings, checked: options and the slots resolved after every component."""
    where = f"{spec.owner} suggests"
    try:
        layout = check_layout(spec.suggested, where, recipe_key=False)
    except ConfigError as err:
        raise PluginError(str(err)) from None
    suggestible = {s.name for s in SLOTS.values() if s.suggestible}
    suggestible |= {g for g, members in SLOT_GROUPS.items() if set(members) <= suggestible}
    # The data is resolved before the models, so a dataset may tune them: parameters only, for the generator or
    # discriminator chosen beneath its layer, if it declares them (a model a higher layer swaps in takes none).
    tunable = MODEL_SLOTS if spec.kind == "dataset" else ()
    bad = [k for k in layout if (k in SLOTS or k in SLOT_GROUPS) and k not in suggestible
           and not (k in tunable and isinstance(layout[k], Mapping) and "name" not in layout[k])]
    if bad:
        also = (f"; a dataset may also suggest parameters of the {' and '.join(MODEL_SLOTS)}, without naming one"
                if tunable else "")
        raise PluginError(f"{where} '{bad[0]}': a component may suggest training options and "
                          f"{', '.join(sorted(suggestible))} only{also}")
    return layout


class _Resolver:
    """Merges the layers slot by slot, then the options; see the module docstring for the rules."""

    def __init__(self, registry: Registry, layers: list[_Layer], sets: Iterable[str], suggest: bool,
                 known_data: DataSpec | None = None) -> None:
        self.registry, self.layers, self.suggest, self.known_data = registry, layers, suggest, known_data
        self.sets = parse_set(sets)
        self.data: DataSpec | None = None
        self.components: dict[str, Any] = {}
        self.specs: dict[str, ComponentSpec] = {}

    def run(self) -> tuple[dict[str, Any], dict[str, Any]]:
        # the data first (defaults depend on it); the slots components may suggest last, regularisers before the
        # augmentations and optimizers they may suggest in turn
        last = [name for name in SUGGESTED_LAST if SLOTS[name].suggestible]
        order = sorted(SLOTS.values(), key=lambda s: (s.kind != "datasets", last.index(s.name) if s.name in last
                                                      else -1))
        for slot in order:
            self.components[slot.name] = self._many(slot) if slot.many else self._single(slot)
        self._check_group_parameters()
        return self.components, self._options()

    def _suggest(self, spec: ComponentSpec, chooser: int) -> None:
        if not self.suggest or not spec.suggested:
            return
        layer = self.layers[chooser]
        for key, value in _suggestions(spec).items():
            if isinstance(value, dict) and isinstance(layer.soft.get(key), dict):
                layer.soft[key] = {**layer.soft[key], **value}
            else:
                layer.soft[key] = value

    def _gather(self, given: dict[str, Any], spec: ComponentSpec, table: Mapping[str, Any], where: str | None,
                lenient: bool) -> None:
        """Add a table's parameters for ``spec`` to ``given``; a bad value names the layer it came from. ``lenient``:
        only the parameters ``spec`` declares (a suggestion, or a group's table)."""
        params = {k: v for k, v in table.items() if k != "name" and (not lenient or spec.declares(k))}
        with _blame(where):
            spec.resolve(params, self.data)
        given.update(params)

    def _single(self, slot: Slot) -> Choice:
        effective: list[str | None] = []  # the component chosen at or below each layer
        name, chooser, where = None, 0, None
        for i, layer in enumerate(self.layers):
            for settings, _ in layer.parts():
                for table, _ in slot_tables(settings, slot):
                    if table.get("name") is not None:
                        name, chooser, where = table["name"], i, layer.where
            effective.append(name)
        chooser_layer = self.layers[chooser]
        with _blame(where):
            spec = self.registry.get(slot.kind, name,
                                     prefer_builtin=chooser_layer.bottom or chooser_layer.builtin_names)
        given: dict[str, Any] = {}
        for layer, at in zip(self.layers, effective):
            if not _names(self.registry, slot.kind, at, spec):
                continue  # these parameters were given for another component, which a higher layer replaced
            for settings, soft in layer.parts():
                for table, lenient in slot_tables(settings, slot):
                    self._gather(given, spec, table, layer.where, soft or lenient or layer.lenient)
        for group, members in SLOT_GROUPS.items():  # --set opt.betas=..., beneath the slot's own --set
            if slot.name in members:
                texts = self.sets.get(group, {}).get(None, {})
                given.update(self._set_values(slot, spec, {k: v for k, v in texts.items() if spec.declares(k)},
                                              group))
        given.update(self._set_values(slot, spec, self.sets.get(slot.name, {}).pop(None, {})))
        choice = Choice(self.registry.unambiguous_name(slot.kind, spec), spec.resolve(given, self.data))
        self.specs[slot.name] = spec
        if slot.kind == "datasets":
            self._dataset_layers(spec, choice)
        else:
            self._suggest(spec, chooser)
        return choice

    def _dataset_layers(self, spec, choice: Choice) -> None:
        """The data is known: add its suggestions and the defaults for its kind, just above ganzoo's defaults."""
        if self.known_data is not None:  # recorded by the run: the data itself need not be there
            self.data = self.known_data
        else:
            self.data = spec.data_spec(choice.params) if spec.shape is not None else None
        if self.suggest and spec.suggested:
            self.layers.insert(1, _Layer(f"dataset '{choice.name}' suggests", _suggestions(spec), lenient=True))
        if self.suggest and self.data is not None:
            kind_defaults = self._kind_defaults(self.data)
            if kind_defaults is not None:
                self.layers.insert(1, kind_defaults)

    def _kind_defaults(self, data: DataSpec) -> _Layer | None:
        """The layer of every defaults record that applies to ``data`` (built-in ones first)."""
        merged: dict[str, Any] = {}
        names = []
        for provided in self.registry.defaults():
            spec = provided.spec
            settings = spec.for_data(data)
            if settings is None:
                continue
            where = f"{spec.owner} ({provided.plugin.label})"
            try:
                layout = check_layout(settings, where, recipe_key=False)
            except ConfigError as err:
                raise PluginError(str(err)) from None
            if "dataset" in layout:
                raise PluginError(f"{where}: defaults for a kind of data cannot choose the dataset")
            for key, value in layout.items():
                both = isinstance(value, dict) and isinstance(merged.get(key), dict)
                same = both and value.get("name", merged[key].get("name")) == merged[key].get("name")
                merged[key] = {**merged[key], **value} if same else value
            names.append(spec.name)
        if not names:
            return None
        return _Layer(f"defaults for {data.describe()} ({', '.join(names)})", merged, builtin_names=True)

    def _many(self, slot: Slot) -> tuple[Choice, ...]:
        items: list[dict[str, Any]] = []
        chooser, where = 0, None
        for i, layer in enumerate(self.layers):  # a layer's own list over what its components suggest
            for settings, _ in layer.parts():
                if settings.get(slot.name) is not None:
                    items, chooser, where = settings[slot.name], i, layer.where
        chosen: list[tuple[ComponentSpec, str]] = []
        with _blame(where):
            for item in items:
                spec = self.registry.get(slot.kind, item["name"])
                if any(other is spec for other, _ in chosen):
                    raise ConfigError(f"{slot.name} lists {spec.owner} twice; give it once")
                chosen.append((spec, item["name"]))
        sets = self.sets.get(slot.name, {})
        if None in sets:  # `--set reg.weight=...` addresses the only one
            if len(chosen) != 1:
                listed = ", ".join(name for _, name in chosen) or "none"
                raise ConfigError(f"--set {slot.name}.PARAM needs the name when there is not exactly one "
                                  f"({slot.name}: {listed}); write {slot.name}.NAME.PARAM=VALUE")
            sets.setdefault(chosen[0][1], {}).update(sets.pop(None))
        choices = []
        for spec, _name in chosen:
            given: dict[str, Any] = {}
            for layer in self.layers:
                for table in [t for settings, _ in layer.parts() for t in settings.get(slot.name) or []]:
                    if _names(self.registry, slot.kind, table["name"], spec):
                        self._gather(given, spec, table, layer.where, lenient=False)
            for key in [key for key in sets if _names(self.registry, slot.kind, key, spec)]:
                given.update(self._set_values(slot, spec, sets.pop(key)))
            choices.append(Choice(self.registry.unambiguous_name(slot.kind, spec), spec.resolve(given, self.data)))
            self._suggest(spec, chooser)
        for key in sets:  # --set for a component the run does not use
            listed = ", ".join(name for _, name in chosen) or "none"
            raise ConfigError(f"--set {slot.name}.{key}...: '{key}' is not among this run's {slot.name} ({listed}); "
                              f"add it with {slot.flags[0]} {key}")
        return tuple(choices)

    @staticmethod
    def _set_values(slot: Slot, spec: ComponentSpec, texts: Mapping[str, str],
                    group: str | None = None) -> dict[str, Any]:
        values = {}
        for key, text in texts.items():
            param = spec.find_param(key)
            try:
                values[key] = param.parse(text)
            except ParameterError as err:
                target = f"{group or slot.name}.{key}"
                flag = next((f"--{s.name} (--set {target})" for s in SHORTHANDS.values() if s.target == target),
                            f"--set {target}")
                raise ParameterError(f"{flag}: {spec.owner}: {err}") from None
        return values

    def _check_group_parameters(self) -> None:
        """A parameter the user gives a group (``--betas``, ``--set opt.betas=...``, ``[opt] betas = ...``) must
        reach one of its components; elsewhere (a recipe, a suggestion) it simply applies where it can."""
        given = [(layer.where, group, key) for layer in self.layers if layer.own
                 for group in SLOT_GROUPS if group in layer.values
                 for key in layer.values[group] if key != "name"]
        given += [(None, group, key) for group in SLOT_GROUPS for key in self.sets.get(group, {}).get(None, {})]
        for where, group, key in given:
            members = SLOT_GROUPS[group]
            if not any(self.specs[m].declares(key) for m in members):
                names = ", ".join(self.components[m].name for m in members)
                raise ConfigError(f"{where + ': ' if where else ''}{group}.{key} is given, but none of "
                                  f"{', '.join(members)} ({names}) takes '{key}'; leave it out or choose one that does")

    def _options(self) -> dict[str, Any]:
        declared = option_params()
        options = {name: param.default for name, param in declared.items()}
        for layer in self.layers:
            for settings, _ in layer.parts():
                for key, value in settings.items():
                    if key not in declared:
                        continue
                    try:
                        options[key] = declared[key].coerce(value, where=layer.where or "")
                    except ParameterError as err:
                        if layer.where is None and layer.own:
                            raise ConfigError(flag_message(key, err)) from None
                        with _blame(layer.where):
                            raise ConfigError(f"option {err}") from None
        return options


def flag_message(name: str, err: Exception) -> str:
    """A parameter error about an option, naming the option's flag (``--steps must be >= 1, got 0``)."""
    flag = "--" + name.replace("_", "-")
    return str(err).replace(f"parameter '{name}'", flag, 1).replace(f"'{name}'", flag, 1)


def resolve_config(
    registry: Registry,
    flags: Mapping[str, Any] | None = None,
    config_file: Path | str | None = None,
    sets: Iterable[str] = (),
    base: TrainConfig | None = None,
    recipe: str | None = None,
) -> TrainConfig:
    """Merge defaults, the dataset's suggestions, a recipe, a config file, flags and ``--set`` into a checked config.

    ``flags`` holds typed option values and component choices the user gave explicitly, in the config file's layout
    (``{"generator": "mlp", "regularisers": ["r1"], "opt": {"name": "rmsprop"}, "steps": 500}``).
    ``recipe`` names a recipe (else the config file's ``recipe`` key, if any). ``base`` replaces the defaults, the
    suggestions and any recipe (e.g. a saved run's config, which is already resolved).
    """
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    file = load_config_file(config_file) if config_file else {}
    recipe = recipe or file.pop("recipe", None)
    if base is not None and recipe is not None:
        raise ConfigError("a recipe cannot be applied on top of a saved run's settings; start a new run with it")
    bottom = _Layer("ganzoo's defaults", check_layout((base or TrainConfig()).to_dict(), "defaults"), bottom=True)
    layers = [bottom]
    if recipe:
        layers.append(_recipe_layer(registry, recipe))
    layers.append(_Layer("config file" if not config_file else f"config file {config_file}", file, own=True))
    layers.append(_Layer(None, check_layout(flags, "flags", recipe_key=False), own=True))
    components, options = _Resolver(registry, layers, sets, suggest=base is None).run()
    if options.get("metrics"):
        dataset = components["dataset"].name
        options["metrics"] = check_metric_names(options["metrics"], metric_records(registry, dataset), dataset)
    return TrainConfig(components=components, recipe=recipe or (base.recipe if base else None), **options)


def config_from_dict(registry: Registry, data: Mapping[str, Any], data_spec: DataSpec | None = None) -> TrainConfig:
    """Rebuild a config saved by :meth:`TrainConfig.to_dict` (e.g. from a checkpoint), checking it again; the
    settings are taken as they are (no suggestions), and older layouts still read. ``data_spec``: the data's shape
    as the run recorded it, so that the data need not be readable (sampling a run whose data moved)."""
    saved = check_layout(data, "saved config")
    layers = [_Layer("ganzoo's defaults", check_layout(TrainConfig().to_dict(), "defaults"), bottom=True),
              _Layer(None, saved)]
    components, options = _Resolver(registry, layers, (), suggest=False, known_data=data_spec).run()
    return TrainConfig(components=components, recipe=data.get("recipe"), **options)
