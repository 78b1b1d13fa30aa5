"""The registry: loads plugins one by one, collects their component records and resolves names.

Every plugin is isolated: one that fails to import, whose hook raises or that yields a malformed record gives one
warning line and an ``error`` status in ``ganzoo plugins``; everything else keeps working. Two providers of one name
are never resolved silently: asking for that name raises :class:`ConflictError` naming both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import click
import pluggy

from .. import messages
from ..data.contract import DataSpec
from ..errors import ConflictError, PluginError, UnknownComponentError, did_you_mean, first_line
from . import hookspecs
from .kinds import BY_SINGULAR, COMPONENT_KINDS, KINDS
from .specs import ComponentSpec

ENTRY_POINT_GROUP = "ganzoo"
BUILTIN_DIST = "ganzoo"


def canonical(dist: str) -> str:
    """Distribution names compare like pip compares them (``My_Plugin`` == ``my-plugin``)."""
    return re.sub(r"[-_.]+", "-", dist).lower()


@dataclass
class PluginInfo:
    """One plugin as ``ganzoo plugins`` shows it."""

    name: str
    dist: str | None = None
    version: str | None = None
    status: str = "ok"  # ok | error | skipped
    error: str | None = None
    provides: dict[str, list[str]] = field(default_factory=dict)

    @property
    def builtin(self) -> bool:
        return self.dist is not None and canonical(self.dist) == BUILTIN_DIST

    @property
    def label(self) -> str:
        """``dist version`` (or the plugin name for in-process plugins), for messages."""
        if self.dist:
            return f"{self.dist} {self.version}" if self.version else self.dist
        return f"plugin '{self.name}'"

    @property
    def prefix(self) -> str:
        """What qualifies a component name: ``prefix:name``."""
        return canonical(self.dist) if self.dist else self.name

    def as_dict(self) -> dict:
        return {
            "name": self.name, "distribution": self.dist, "version": self.version, "builtin": self.builtin,
            "status": self.status, "error": self.error, "provides": self.provides,
        }


@dataclass(frozen=True)
class Provided:
    """A component record together with the plugin that provided it."""

    spec: ComponentSpec
    plugin: PluginInfo

    @property
    def qualified(self) -> str:
        return f"{self.plugin.prefix}:{self.spec.name}"


def _records(result: object, hook_name: str, expected: type) -> Iterable:
    """A hook's result as records: a generator or list of them; a lone record or a string is the plugin's mistake
    (a ``return`` where ``yield`` was meant), named as such instead of as its first character."""
    if isinstance(result, (str, bytes, expected)) or not isinstance(result, Iterable):
        raise PluginError(f"{hook_name}() returned {type(result).__name__} {result!r:.60}, not records: yield each "
                          f"ganzoo.{expected.__name__} (or return a list of them)")
    return result


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _env_allowlist() -> set[str] | None:
    """``GANZOO_LOAD_PLUGINS=dist1,dist2`` loads only those third-party distributions (empty: built-ins only)."""
    raw = os.environ.get("GANZOO_LOAD_PLUGINS")
    if raw is None:
        return None
    return {canonical(item) for item in raw.split(",") if item.strip()}


class Registry:
    """Plugins and the components they provide, by kind."""

    def __init__(self, *, strict: bool | None = None, warn: Callable[[str], None] | None = None) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.strict = _env_flag("GANZOO_STRICT_PLUGINS") if strict is None else strict
        self._warn = warn or messages.warn
        self._plugins: dict[str, PluginInfo] = {}
        self._objects: dict[str, object] = {}
        self._components: dict[str, list[Provided]] | None = None
        self._commands: dict[str, click.Command] | None = None
        self._collecting = False

    # -- loading --------------------------------------------------------------------------------------------------

    def load_entry_points(self, entry_points: Iterable[metadata.EntryPoint] | None = None) -> None:
        """Load every plugin of the ``ganzoo`` entry-point group, each in isolation."""
        if entry_points is None:
            entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
        allow = _env_allowlist()
        installed: set[str] = set()
        for ep in entry_points:
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            installed.add(canonical(dist or ""))
            info = PluginInfo(name=ep.name, dist=dist, version=version)
            key = f"{canonical(dist)}:{ep.name}" if dist else ep.name
            if allow is not None and not info.builtin and canonical(dist or "") not in allow:
                info.status, info.error = "skipped", "not in GANZOO_LOAD_PLUGINS"
                self._plugins[key] = info
                continue
            plugin = None
            try:
                plugin = ep.load()
                if self.pm.is_registered(plugin):  # a second entry point naming an already loaded module
                    info.status, info.error = "skipped", f"same module as plugin '{self.pm.get_name(plugin)}'"
                    self._plugins[key] = info
                    continue
                self.pm.register(plugin, name=key)
                self.pm.check_pending()
            except Exception as err:  # noqa: BLE001 - any failure of third-party code is isolated
                if plugin is not None and self.pm.get_name(plugin) == key:
                    self.pm.unregister(plugin)
                self._fail(info, err, "failed to load")
                self._plugins[key] = info
                continue
            self._plugins[key] = info
            self._objects[key] = plugin
        self._components = self._commands = None
        self._warn_not_installed(allow, installed)

    def _warn_not_installed(self, allow: set[str] | None, installed: set[str]) -> None:
        """A name in GANZOO_LOAD_PLUGINS that no installed plugin has is a typo or a missing install; loading
        nothing for it without a word would look like the plugin itself is broken."""
        others = sorted(installed - {BUILTIN_DIST, ""})
        for name in sorted((allow or set()) - installed - {BUILTIN_DIST}):
            known = f"installed: {', '.join(others[:5])}{', …' if len(others) > 5 else ''}" if others else \
                "none is installed"
            self._warn(f"GANZOO_LOAD_PLUGINS names '{name}', but no installed distribution provides ganzoo plugins "
                       f"by that name{did_you_mean(name, others)} ({known}); `ganzoo plugins` lists them")

    def register(self, plugin: object, name: str, dist: str | None = None, version: str | None = None) -> PluginInfo:
        """Register a plugin object in-process (tests, notebooks); undo with :meth:`unregister`."""
        if name in self._plugins:
            raise ValueError(f"a plugin named {name!r} is already registered")
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        info = PluginInfo(name=name, dist=dist, version=version)
        self._plugins[name], self._objects[name] = info, plugin
        self._components = self._commands = None
        return info

    def unregister(self, name: str) -> None:
        """Remove a plugin registered under ``name``."""
        plugin = self._objects.pop(name, None)
        if plugin is not None:
            self.pm.unregister(plugin)
        self._plugins.pop(name, None)
        self._components = self._commands = None

    def _fail(self, info: PluginInfo, err: BaseException, what: str) -> None:
        message = f"{type(err).__name__}: {first_line(err, 300)}" if str(err).strip() else type(err).__name__
        origin = f" ({info.label})" if info.dist else ""
        if self.strict:  # one line, not the plugin's traceback: the user can only fix, uninstall or skip it
            raise PluginError(
                f"plugin '{info.name}'{origin} {what}: {message}; fix or uninstall it, or unset "
                f"GANZOO_STRICT_PLUGINS to skip it with a warning"
            ) from err
        info.status, info.error = "error", message
        self._warn(f"plugin '{info.name}'{origin} {what}: {message}; it is skipped (see `ganzoo plugins`)")

    # -- collecting -----------------------------------------------------------------------------------------------

    def _collect(self) -> dict[str, list[Provided]]:
        if self._components is not None:
            return self._components
        if self._collecting:  # a hook asked for components while they are being collected: it would recurse forever
            raise PluginError("a hook looked up components while ganzoo was collecting them; build records from "
                              "your own classes, not from the registry")
        self._collecting = True
        try:
            return self._collect_all()
        finally:
            self._collecting = False

    def _collect_all(self) -> dict[str, list[Provided]]:
        gathered: dict[str, dict[str, list[ComponentSpec]]] = {key: {} for key in self._objects}
        failed: set[str] = set()
        for plural, kind in KINDS.items():
            hook_name, expected = kind.hook, kind.record
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                key = impl.plugin_name
                if key in failed or key not in gathered:
                    continue
                try:
                    records = [r for result in self._call_one(hook_name, key) if result is not None
                               for r in _records(result, hook_name, expected)]
                    for record in records:
                        if not isinstance(record, expected):
                            raise PluginError(
                                f"{hook_name}() yielded {type(record).__name__} {record!r:.60}, "
                                f"not a ganzoo.{expected.__name__}"
                            )
                except Exception as err:  # noqa: BLE001 - a broken hook must not break the others
                    failed.add(key)
                    self._fail(self._plugins[key], err, f"hook {hook_name}() failed")
                    continue
                gathered[key].setdefault(plural, []).extend(records)
        components: dict[str, list[Provided]] = {plural: [] for plural in KINDS}
        for key, by_kind in gathered.items():
            info = self._plugins[key]
            if key in failed:
                info.provides = {}
                continue
            info.provides = {plural: [r.name for r in records] for plural, records in by_kind.items() if records}
            for plural, records in by_kind.items():
                components[plural].extend(Provided(record, info) for record in records)
        self._components = components
        return components

    def metrics(self) -> list[Provided]:
        """Every metric record from the ``ganzoo_metrics`` hook (datasets' own metrics are on their records)."""
        return list(self._collect()["metrics"])

    def recipes(self) -> list[Provided]:
        """Every recipe record from the ``ganzoo_recipes`` hook, with its plugin."""
        return list(self._collect()["recipes"])

    def defaults(self) -> list[Provided]:
        """Every record from the ``ganzoo_defaults`` hook: the built-in ones first, then the others by name (the
        order they apply in)."""
        return sorted(self._collect()["defaults"], key=lambda p: (not p.plugin.builtin, p.qualified))

    def recipe(self, name: str) -> Provided:
        """Resolve a recipe name (or qualified ``dist:name``) to its record and plugin."""
        return self._match(self.recipes(), "recipe", name, "`ganzoo recipes`")

    def _call_one(self, hook_name: str, key: str, **kwargs) -> list:
        """Call one plugin's implementation through pluggy (so wrappers and argument pruning apply)."""
        others = [p for name, p in self._objects.items() if name != key]
        return self.pm.subset_hook_caller(hook_name, remove_plugins=others)(**kwargs)

    def commands(self) -> dict[str, click.Command]:
        """The commands plugins add through ``ganzoo_commands``, by name (each hook isolated like the component
        hooks). They are gathered on a group of their own and forgotten whenever the plugins change, so a plugin
        registered after the CLI first ran still adds its commands, and an unregistered one takes them away."""
        if self._commands is None:
            group = click.Group("ganzoo")
            for impl in self.pm.hook.ganzoo_commands.get_hookimpls():
                try:
                    self._call_one("ganzoo_commands", impl.plugin_name, cli=group)
                except Exception as err:  # noqa: BLE001
                    self._fail(self._plugins[impl.plugin_name], err, "hook ganzoo_commands() failed")
            self._commands = dict(group.commands)
        return self._commands

    # -- querying -------------------------------------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen, loaded or not, built-ins first."""
        self._collect()
        return sorted(self._plugins.values(), key=lambda p: (not p.builtin, p.name))

    def components(self, kind: str) -> list[Provided]:
        """Every record of a kind (plural, e.g. ``generators``), conflicts included."""
        return list(self._collect()[self.plural(kind)])

    @staticmethod
    def plural(kind: str) -> str:
        """Accept ``generator`` or ``generators`` (any component kind); anything else is an unknown kind."""
        if kind in COMPONENT_KINDS:
            return kind
        if kind in BY_SINGULAR and BY_SINGULAR[kind].component:
            return BY_SINGULAR[kind].plural
        names = [*COMPONENT_KINDS, *(k.singular for k in COMPONENT_KINDS.values())]
        raise UnknownComponentError(
            f"unknown component kind '{kind}'{did_you_mean(kind, names)} (kinds: {', '.join(COMPONENT_KINDS)})"
        )

    def get(self, kind: str, name: str, prefer_builtin: bool = False) -> ComponentSpec:
        """Resolve a name, alias or qualified ``prefix:name`` to its record. ``prefer_builtin``: a name several
        plugins provide means the built-in one (for ganzoo's own defaults, which no user chose)."""
        plural = self.plural(kind)
        try:
            return self._match(self.components(plural), KINDS[plural].singular, name,
                               f"`ganzoo list {plural}`", prefer_builtin).spec
        except UnknownComponentError as err:
            broken = [p for p in self._plugins.values() if p.status == "error"]
            if not broken:
                raise
            # the name may belong to a plugin that failed to load: say so on the error's own line
            names = ", ".join(f"'{p.name}'" + (f" ({p.label})" if p.dist else "") for p in broken)
            raise UnknownComponentError(f"{err}; it may come from a plugin that failed to load: {names} "
                                        f"(see `ganzoo plugins`)") from None

    @staticmethod
    def _match(providers: list[Provided], singular: str, name: str, listing: str,
               prefer_builtin: bool = False) -> Provided:
        """The one provider of ``name``: "did you mean" when there is none, a conflict error when there are two.
        A qualifier may be the distribution (``ganzoo-ring:ring``) or the plugin's name as ``ganzoo plugins``
        shows it."""
        def names(p: Provided) -> tuple[str, ...]:
            return (p.spec.name, *getattr(p.spec, "aliases", ()))  # recipes have no aliases

        prefix, _, short = name.rpartition(":")
        matches = [p for p in providers if short in names(p)
                   and (not prefix or canonical(prefix) in (p.plugin.prefix, canonical(p.plugin.name)))]
        if len(matches) > 1 and prefer_builtin and sum(p.plugin.builtin for p in matches) == 1:
            return next(p for p in matches if p.plugin.builtin)
        if not matches:
            known = [n for p in providers for n in names(p)] + [p.qualified for p in providers]
            raise UnknownComponentError(f"unknown {singular} '{name}'{did_you_mean(name, known)} (see {listing})")
        if len(matches) > 1:
            origins = ", ".join(f"'{p.qualified}' from {p.plugin.label}" for p in matches)
            raise ConflictError(
                f"{singular} '{name}' is provided by {len(matches)} plugins: {origins}; pick one by its qualified "
                f"name (e.g. '{matches[-1].qualified}') or leave one out with GANZOO_LOAD_PLUGINS"
            )
        return matches[0]

    def unambiguous_name(self, kind: str, spec: ComponentSpec) -> str:
        """``spec``'s plain name, or its qualified ``dist:name`` when another plugin uses the same name."""
        if spec.name not in self.conflicts(kind):
            return spec.name
        return next(p.qualified for p in self.components(kind) if p.spec is spec)

    def conflicts(self, kind: str) -> set[str]:
        """Names (and aliases) of a kind that more than one plugin provides."""
        seen: dict[str, int] = {}
        for p in self.components(kind):
            for n in {p.spec.name, *p.spec.aliases}:
                seen[n] = seen.get(n, 0) + 1
        return {n for n, count in seen.items() if count > 1}

    def compatible(self, kind: str, data: DataSpec) -> list[str]:
        """Names of the components of ``kind`` that accept ``data`` (for "compatible alternatives")."""
        return sorted({p.spec.name for p in self.components(kind) if p.spec.incompatibility(data) is None})


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry with every installed plugin loaded (built on first use)."""
    global _default
    if _default is None:
        registry = Registry()
        registry.load_entry_points()
        _default = registry
    return _default


def reset_default_registry() -> None:
    """Forget the process-wide registry (tests, or after installing a plugin in a running notebook)."""
    global _default
    _default = None


def register(plugin: object, name: str) -> PluginInfo:
    """Register an in-process plugin — a module or object with ``@hookimpl`` functions — in the process-wide
    registry, as if it were installed: for notebooks, scripts and tests. ``ganzoo.train`` and the other entry points
    then see its components; its errors are isolated and reported like an installed plugin's."""
    return default_registry().register(plugin, name)


def component(kind: str, name: str, *args: Any, **params: Any) -> Any:
    """Build the installed component ``name`` of ``kind`` with its factory: ``args`` as the kind passes them (a
    generator's latent size and data spec...), ``params`` checked against its declaration and completed with its
    defaults. For components made of others: a loss wrapping another loss by name (top-k over any loss)."""
    spec = default_registry().get(kind, name)
    return spec.call("building it", spec.factory, *args, **spec.resolve(params))
