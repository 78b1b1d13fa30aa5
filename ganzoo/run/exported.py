"""An export folder read back: ``ganzoo.load_generator(DIR)``, and ``ganzoo sample DIR`` / ``ganzoo evaluate DIR``.

``config.json`` names the generator, its parameters and the plugin distribution (and version) that provided it;
the generator is rebuilt by that plugin and given the weights of ``generator.safetensors``. A plugin that is not
installed is one line naming the distribution to install; another version of it is one warning line, and only
weights that no longer fit are an error. :class:`DataSpace` is the module every format of the folder holds: the
generator followed by the map to the data's space.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import TrainConfig
from ..config.options import Choice, option_params
from ..data.contract import DataSpec
from ..data.fingerprint import Affine
from ..errors import CheckpointError, ConfigError, GanzooError, PluginError, UnknownComponentError, first_line
from ..messages import warn
from ..registry.kinds import SLOTS
from ..registry.registry import Registry, canonical, default_registry

FORMAT, VERSION = "ganzoo-export", 1
CONFIG, WEIGHTS = "config.json", "generator.safetensors"


class DataSpace(nn.Module):
    """A generator followed by the map to the data's space: ``G(z)``, or ``G(z, labels)`` for a conditional one,
    returns images as pixels in [0, 1], shaped (B, C, H, W), or points in data coordinates (B, D), as
    ``ganzoo sample`` writes them. Points go through the dataset's affine standardisation in float64, as sampling
    does.

    - ``generator``: the plugin's module, in the model's space (images in [-1, 1], points standardised).
    - ``data``: the :class:`ganzoo.DataSpec` of one sample.
    - ``latent_dim``: the size of ``z``, whose entries are independent standard normal numbers.
    - ``classes``: how many label values ``labels`` takes (0 to classes - 1), or None: no labels.
    """

    def __init__(self, generator: nn.Module, data: DataSpec, latent_dim: int, classes: int | None,
                 to_data: Affine | None = None) -> None:
        super().__init__()
        self.generator, self.data, self.latent_dim, self.classes = generator, data, latent_dim, classes
        if data.kind == "points":
            if to_data is None:
                raise ValueError("points need their dataset's map to data coordinates")
            self.register_buffer("weight", to_data.weight.double().clone())
            self.register_buffer("bias", to_data.bias.double().clone())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.classes is None:
            x = self.generator(z).float()
        elif labels is None:
            raise ValueError(f"this generator is conditional: pass labels, int64 of shape (B,) in "
                             f"[0, {self.classes - 1}]")
        else:
            x = self.generator(z, labels).float()
        if self.data.kind == "image":
            return ((x + 1) / 2).clamp(0, 1)
        return (x.double() @ self.weight + self.bias).to(x.dtype)


def is_export(path: Path) -> bool:
    """Whether ``path`` looks like an export folder rather than a run directory (which has a config.toml)."""
    path = Path(path)
    return (path / CONFIG).is_file() and not (path / "config.toml").is_file()


@dataclass
class ExportFolder:
    """An export folder's ``config.json``, checked and read."""

    path: Path
    info: dict[str, Any]
    data: DataSpec
    latent_dim: int
    classes: int | None
    own_labels: bool
    to_data: Affine | None

    @property
    def config(self) -> TrainConfig:
        """The run's resolved training config as written (its components' plugins need not be installed)."""
        return saved_config(self.info["training_config"], self.path / CONFIG)

    def component(self, slot: str) -> dict[str, Any]:
        """The record of the component in ``slot`` (its name, parameters, distribution and version)."""
        return next(c for c in self.info["components"] if c["slot"] == slot)


def read_export(path: Path | str) -> ExportFolder:
    """The export folder at ``path``, or one line saying why it is not a readable one."""
    path = Path(path)
    where = path / CONFIG
    try:
        info = json.loads(where.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} is neither a run directory nor an export folder (it has no {CONFIG}); give a "
                          f"folder written by `ganzoo export`") from None
    except (OSError, ValueError) as err:
        raise ConfigError(f"{where} is not readable JSON ({first_line(err)}); export the run again") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ConfigError(f"{where} is not a ganzoo export (it has no \"format\": \"{FORMAT}\"); give a folder "
                          f"written by `ganzoo export`")
    if not isinstance(info.get("version"), int) or info["version"] > VERSION:
        raise ConfigError(f"{where} was written by a newer ganzoo (export format {info.get('version')}); upgrade "
                          f"ganzoo")
    try:
        return folder_from(path, info)
    except (KeyError, TypeError, ValueError, StopIteration) as err:
        raise ConfigError(f"{where} is damaged ({type(err).__name__}: {first_line(err)}); export the run "
                          f"again") from None


def folder_from(path: Path, info: dict[str, Any]) -> ExportFolder:
    """An export folder from its ``config.json`` (read, or about to be written)."""
    data = info["data"]
    spec = DataSpec(data["kind"], tuple(data["shape"]), data.get("classes"))
    mapping = info.get("to_data")
    to_data = Affine(torch.tensor(mapping["weight"], dtype=torch.float64),
                     torch.tensor(mapping["bias"], dtype=torch.float64)) if mapping else None
    if spec.kind == "points" and to_data is None:
        raise ValueError("points need 'to_data'")
    folder = ExportFolder(Path(path), info, spec, int(info["latent_dim"]), info.get("classes"),
                          bool(info.get("own_labels")), to_data)
    folder.component("generator")
    return folder


def saved_config(saved: dict[str, Any], where: Path) -> TrainConfig:
    """A config as :meth:`TrainConfig.to_dict` wrote it, taken as it is: it was resolved and checked when the run
    trained, and rebuilding it through the registry would need every plugin of the run, not only the generator's."""
    try:
        options = {name: param.coerce(saved[name]) for name, param in option_params().items() if name in saved}
        components: dict[str, Any] = {}
        for slot in SLOTS.values():
            value = saved.get(slot.name, [] if slot.many else {"name": slot.default})
            chosen = [Choice(v["name"], {k: x for k, x in v.items() if k != "name"})
                      for v in (value if slot.many else [value])]
            components[slot.name] = tuple(chosen) if slot.many else chosen[0]
        return TrainConfig(components=components, recipe=saved.get("recipe"), **options)
    except (GanzooError, KeyError, TypeError, AttributeError) as err:
        raise ConfigError(f"{where} holds an unreadable training config ({first_line(err)})") from None


def _provider(component: dict[str, Any]) -> str:
    dist, version = component.get("distribution"), component.get("version")
    if dist:
        return f"{dist} {version}" if version else dist
    return f"the in-process plugin '{component.get('plugin')}'"


def check_plugins(registry: Registry, folder: ExportFolder, slots: tuple[str, ...] = ("generator",)) -> None:
    """Each component of ``slots`` must be installed: else one line naming the distribution to install. One
    installed at another version (or from another distribution) is one warning line."""
    for slot in slots:
        component = folder.component(slot)
        kind, name = SLOTS[slot].kind, component["name"]
        try:
            spec = registry.get(kind, name)
        except UnknownComponentError:
            dist, version = component.get("distribution"), component.get("version")
            fix = (f"pip install '{dist}>={version}'" if dist and version else f"pip install {dist}" if dist else
                   "register that plugin (ganzoo.register) before loading")
            raise PluginError(f"{folder.path} needs {SLOTS[slot].help} '{name}' from {_provider(component)}, which "
                              f"is not installed; {fix} (see `ganzoo plugins`)") from None
        plugin = next(p.plugin for p in registry.components(kind) if p.spec is spec)
        recorded = (canonical(component.get("distribution") or ""), component.get("version"))
        if plugin.dist and component.get("distribution") and recorded != (canonical(plugin.dist), plugin.version):
            warn(f"{folder.path} was exported with {SLOTS[slot].help} '{name}' from {_provider(component)}; "
                 f"{plugin.label} provides it here")


def build_generator(registry: Registry, folder: ExportFolder, weights: Path | None = None) -> nn.Module:
    """The folder's generator, rebuilt by its plugin (checked with :func:`check_plugins` first) and given the
    weights of ``generator.safetensors``, in eval mode on the CPU."""
    check_plugins(registry, folder)
    weights = weights or folder.path / WEIGHTS
    component = folder.component("generator")
    if not weights.is_file():
        written = ", ".join(folder.info.get("files", [])) or "no weights"
        raise ConfigError(f"{folder.path} holds no {WEIGHTS} (it has {written}); export the run again with "
                          f"--format safetensors for ganzoo to load it")
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise ConfigError(f"reading {weights} needs the safetensors package: pip install safetensors") from None
    record = registry.get("generator", component["name"])
    if bool(record.conditional) != (folder.classes is not None):
        raise CheckpointError(f"{record.owner} of {_provider(component)} takes "
                              f"{'labels' if record.conditional else 'no labels'} here, unlike the exported one")
    params = record.resolve(component.get("params", {}), folder.data)
    generator = record.call("building it", record.factory, folder.latent_dim, folder.data, **params)
    try:
        generator.load_state_dict(load_file(weights))
    except Exception as err:  # noqa: BLE001 - a damaged file or weights of another version of the plugin
        raise CheckpointError(f"{weights} does not fit {record.owner} as installed ({first_line(err, 100)}); it "
                              f"was exported with {_provider(component)}: install that version, or export "
                              f"again") from None
    return generator.eval()


def load_generator(path: str | Path, *, device: str | torch.device = "cpu",
                   registry: Registry | None = None) -> DataSpace:
    """The generator of an export folder written by ``ganzoo export``, as a module in eval mode:
    ``G(z)`` (or ``G(z, labels)`` for a conditional one) returns images as pixels in [0, 1] (B, C, H, W) or points
    in data coordinates (B, D), from noise ``z`` of shape (B, G.latent_dim). Needs the plugin that provided the
    generator (``config.json`` names it, with its version)."""
    folder = read_export(path)
    generator = build_generator(registry or default_registry(), folder)
    return DataSpace(generator, folder.data, folder.latent_dim, folder.classes, folder.to_data).to(device).eval()
