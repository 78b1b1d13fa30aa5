"""What every record shares, and the records that are not components: metrics, defaults for a kind of data, recipes.

Every record has a name (lower case, unique within its kind) and a one-line description, is named the same way in
every message (``generator 'mlp'``), and calls into the plugin's own code through :meth:`Record.call`, which turns
a bug there into one line naming the record, and puts the record's name in front of the ganzoo errors it raises.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..data.contract import Data, DataSpec
from ..errors import GanzooError, PluginError, first_line

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class Record:
    """The behaviour every record class shares (each declares its own dataclass fields: ``name``, ``description``
    and whatever its kind needs)."""

    kind: ClassVar[str] = "record"
    name: str
    description: str

    @property
    def owner(self) -> str:
        """How messages name this record, e.g. ``generator 'mlp'``."""
        return f"{self.kind} '{self.name}'"

    def _check_record(self, *lines: str, optional: tuple[str, ...] = ()) -> None:
        """The name (and aliases) and the one-line texts: ``lines`` must be non-empty, ``optional`` may be empty."""
        for name in (self.name, *getattr(self, "aliases", ())):
            if not isinstance(name, str) or not _NAME.match(name):
                raise ValueError(f"{self.kind} name {name!r} must be lower case letters, digits, '-', '_' or '.'")
        for what in (*lines, *optional):
            text = getattr(self, what)
            if not isinstance(text, str) or "\n" in text or (what in lines and not text.strip()):
                raise ValueError(f"{self.owner}: {what} must be one {'non-empty ' if what in lines else ''}line")

    def call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call one of the plugin's functions. A bug in it becomes a one-line :class:`PluginError`; a ganzoo error
        it raises (say, a :class:`ParameterError` about two of its parameters) gets the record's name in front, so
        plugins never type their own prefix."""
        try:
            return fn(*args, **kwargs)
        except GanzooError as err:
            if str(err).startswith(self.owner):
                raise
            raise type(err)(f"{self.owner}: {err}") from None
        except Exception as err:  # noqa: BLE001 - any failure of plugin code is one line naming the plugin
            raise PluginError(f"{self.owner}: {what} failed: {type(err).__name__}: {first_line(err)}") from None


@dataclass(frozen=True)
class MetricSpec(Record):
    """Metrics: ``compute(ctx) -> {key: number}`` for every dataset where ``applies(data)`` is true.

    - ``name``: the metric's name.
    - ``description``: one line.
    - ``compute``: ``compute(ctx) -> {key: number}``; ``ctx`` is a :class:`ganzoo.EvalContext` with ``samples``
      (normalised space), ``coords()`` (data coordinates), ``data``, ``held_out()`` (a held-out split),
      ``full_data()``, a private ``state`` dict (a cache that lives as long as the evaluator), ``progress``,
      ``reference(...)`` (what the metric computes from real data, computed once per dataset and cached on disk,
      with a progress bar), and for a conditional generator ``labels`` (what each sample was drawn for) and
      ``label_kind`` (``"classes"`` or InfoGAN's ``"codes"``).
    - ``applies``: ``applies(data) -> bool``, given the loaded ``Data`` (default: always).
    - ``keys``: ``{key: one-line meaning}`` for each returned key, for tables and docs; ``--metrics KEY`` chooses
      the metric as its name does.
    - ``better``: ``{key: "lower" or "higher"}``, which way each key improves; omit keys that are plain information.
    - ``unavailable``: optional ``unavailable(data) -> one line or None``: why a metric that would apply cannot run
      here (an optional package or weights file missing) and how to get it; the metric is then left out and
      ``ganzoo evaluate`` prints the line, and every other metric keeps working.
    - ``expensive``: ``True`` for a metric that is slow without an accelerator (Inception features: about 10 images
      a second on a CPU). On a CPU it runs only when asked for by name (``--metrics NAME,...``), and a note says it
      was left out; on a GPU it runs by default like any other.
    - ``compute_many``: optional ``compute_many(contexts) -> [{key: number}, ...]``: several sample sets at once (the
      members of a sweep, evaluated together), one result per context, each what ``compute`` gives that context
      alone (up to float rounding). The contexts share ``state`` and differ in ``samples``. A metric whose costly
      part is common to every set (a feature network's forward, statistics of real data) does it once here, e.g.
      one forward over the concatenated samples, split per set; without it, ``compute`` runs once per set.
    """

    name: str
    description: str
    compute: Callable[[Any], Mapping[str, float]]
    applies: Callable[[Data], bool] = field(default=lambda data: True)
    keys: Mapping[str, str] = field(default_factory=dict)
    better: Mapping[str, str] = field(default_factory=dict)
    unavailable: Callable[[Data], str | None] | None = None
    expensive: bool = False
    compute_many: Callable[[Sequence[Any]], Sequence[Mapping[str, float]]] | None = None

    kind: ClassVar[str] = "metric"

    def __post_init__(self) -> None:
        self._check_record("description")
        if not callable(self.compute) or not callable(self.applies):
            raise TypeError(f"{self.owner}: compute and applies must be callable")
        if self.compute_many is not None and not callable(self.compute_many):
            raise TypeError(f"{self.owner}: compute_many must be callable or None")
        if any(v not in ("lower", "higher") for v in self.better.values()):
            raise ValueError(f"metric '{self.name}': better values must be 'lower' or 'higher'")
        if not isinstance(self.expensive, bool):
            raise TypeError(f"{self.owner}: expensive must be True or False, not {self.expensive!r}")


@dataclass(frozen=True)
class DefaultsSpec(Record):
    """Defaults for a kind of data: training settings that suit every dataset of that kind (all 2-D points; images
    of a size).

    - ``name``: the record's name.
    - ``settings``: ``settings(data: DataSpec) -> mapping or None``: laid out like a config file (options,
      optimizers, and the ``generator``, ``discriminator`` and ``loss`` to use); None where the record does not
      apply.
    - ``description``: one line.

    They may choose the generator, discriminator and loss (``{"generator": "dcgan"}``) and set options and
    optimizers, and they sit just above ganzoo's own defaults, beneath the dataset's own suggestions and everything
    the user writes (see ``ganzoo/config/resolve.py``). So a third-party point dataset gets the point settings the
    built-in ones get. The built-in records apply first; a third-party plugin's record applies on top of them.
    """

    name: str
    settings: Callable[[DataSpec], Mapping[str, Any] | None]
    description: str

    kind: ClassVar[str] = "defaults"

    def __post_init__(self) -> None:
        self._check_record("description")
        if not callable(self.settings):
            raise TypeError(f"{self.owner}: settings {self.settings!r} is not callable")

    def for_data(self, data: DataSpec) -> Mapping[str, Any] | None:
        """The settings for ``data``, or None; a bug in the plugin becomes a one-line :class:`PluginError`."""
        out = self.call("settings", self.settings, data)
        if out is not None and not isinstance(out, Mapping):
            raise PluginError(f"{self.owner}: settings returned {type(out).__name__}, not a mapping or None")
        return out


@dataclass(frozen=True)
class RecipeSpec(Record):
    """Recipes: a named, complete training configuration, what ``ganzoo train --recipe NAME`` starts from.

    - ``name``: the recipe's name.
    - ``description``: one line.
    - ``citation``: one line: what the recipe reproduces (a paper, a tutorial).
    - ``settings``: laid out like a config file (and like ``TrainConfig.to_dict()``): top-level options (``steps``,
      ``batch_size``, ``lr_g``...) and one table per slot (``generator``, ``discriminator``, ``loss``, ``dataset``,
      ``opt_g``, ``opt_d``, or ``opt`` for both), each with a ``name`` and its parameters, and lists for
      ``augment``, ``regularisers`` and ``constraints``. It is checked like a config file when used
      (``ganzoo recipes`` shows problems).
    """

    name: str
    description: str
    citation: str
    settings: Mapping[str, Any]

    kind: ClassVar[str] = "recipe"

    def __post_init__(self) -> None:
        self._check_record("description", "citation")
        if not isinstance(self.settings, Mapping):
            raise TypeError(f"{self.owner}: settings must be a mapping laid out like a config file")
        # A private deep copy: the plugin keeping (and mutating) its dict must not change a registered recipe.
        object.__setattr__(self, "settings", copy.deepcopy(dict(self.settings)))
