"""Recipes: named configurations from plugins, ``ganzoo recipes``, ``ganzoo train --recipe`` and their precedence."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from helpers.tiny_formats import make_tiny_celeba, make_tiny_cifar

import ganzoo
from ganzoo import RecipeSpec, hookimpl
from ganzoo.cli.zoo import recipe_rows, recipes_markdown
from ganzoo.config import check_layout, resolve_config
from ganzoo.config.toml import read_toml
from ganzoo.registry.kinds import SLOT_GROUPS, SLOTS

ROOT = Path(__file__).resolve().parent.parent
BUILTIN = sorted(["keras-mnist", "batchnorm-mlp-mnist", "upconv-maxpool-mnist", "pytorch-mlp-mnist", "parabola-gan",
                  "sine-gan", "mnist-best", "sngan-mnist", "parabola-best", "dcgan-cifar10", "dcgan-celeba-64",
                  # each variant plugin's own recipe
                  "acgan-mnist", "cgan-mnist", "diffaugment-mnist", "limited-mnist", "feature-matching-mnist",
                  "infogan-mnist", "projection-mnist", "r1-mnist", "ragan-mnist", "wgan-clip-mnist",
                  # the modern variants on the step's second opening
                  "lecam-mnist", "msgan-mnist", "orthogonal-mnist", "r3gan-mnist", "bcr-mnist", "ada-mnist",
                  "topk-mnist"])
#: What the recipe tests override to stay fast; every other setting must come from the recipe.
FAST = {"steps": 2, "batch_size": 8, "log_every": 1, "sample_every": 0, "checkpoint_every": 0}


def _recipes(registry) -> dict[str, RecipeSpec]:
    return {p.spec.name: p.spec for p in registry.recipes() if p.plugin.builtin}


def test_builtin_recipes_are_the_documented_ones(registry):
    recipes = _recipes(registry)
    assert sorted(recipes) == BUILTIN
    for spec in recipes.values():
        assert spec.description and spec.citation


@pytest.mark.parametrize("name", BUILTIN)
def test_each_builtin_recipe_trains_with_its_own_settings(name, registry, tiny_mnist, tmp_path):
    spec = _recipes(registry)[name]
    settings = check_layout(spec.settings, name, recipe_key=False)  # short forms ("dataset": "mnist") as tables
    dataset = settings["dataset"]["name"]
    is_mnist = dataset in ("mnist", "cifar10", "celeba")  # files in torchvision's layout under a root
    if dataset == "cifar10":
        make_tiny_cifar(tiny_mnist)
    elif dataset == "celeba":
        make_tiny_celeba(tiny_mnist)
    data = [f"dataset.root={tiny_mnist}", "dataset.download=false"] if is_mnist else ["dataset.n=128"]
    result = ganzoo.train(recipe=name, set=data, out=tmp_path / "run", **FAST)
    assert result.step == 2 and all(math.isfinite(result.final[k]) for k in ("d_loss", "g_loss"))
    saved = read_toml(tmp_path / "run" / "config.toml")
    assert saved["recipe"] == name
    for key, value in settings.items():  # the run used exactly what the recipe says, apart from FAST and data
        if key in SLOT_GROUPS:  # its name chose every slot of the group; each parameter reached at least one
            assert all(saved[m]["name"] == value.get("name", saved[m]["name"]) for m in SLOT_GROUPS[key]), key
            for param, given in value.items():
                assert any(saved[m].get(param) == given for m in SLOT_GROUPS[key]), (key, param)
        elif isinstance(value, dict):
            overridden = {"root", "download"} if is_mnist else {"n"}
            assert {k: v for k, v in value.items() if k not in overridden}.items() <= saved[key].items(), key
        elif isinstance(value, list):  # regularisers, augmentations, constraints: the same, in order
            assert [item["name"] for item in value] == [item["name"] for item in saved[key]], key
            assert all(a.items() <= b.items() for a, b in zip(value, saved[key])), key
        elif key not in FAST:
            assert saved[key] == pytest.approx(value), key


def test_best_recipes_are_what_the_defaults_resolve_to(registry):
    for recipe, flags in (("mnist-best", {"dataset": "mnist"}), ("parabola-best", {})):
        with_recipe = resolve_config(registry, {}, recipe=recipe).to_dict()
        assert with_recipe.pop("recipe") == recipe
        assert with_recipe == resolve_config(registry, flags).to_dict()


def _repeated(settings: dict, suggested: dict, where: str = "") -> dict:
    """Every key (dotted, at any depth) that ``settings`` sets to the value ``suggested`` already gives it."""
    found = {}
    for key, value in settings.items():
        if key not in suggested:
            continue
        if isinstance(value, dict) and isinstance(suggested[key], dict):
            found.update(_repeated(value, suggested[key], f"{where}{key}."))
        elif value == suggested[key]:
            found[f"{where}{key}"] = value
    return found


@pytest.mark.parametrize("name", BUILTIN)
def test_recipes_state_only_what_differs_from_their_datasets_suggestions(name, registry):
    """A recipe repeats none of its dataset's suggestions, and every suggestion it leaves out is what it resolves
    to (unless a component it chose suggests otherwise), so leaving them out changed nothing; the README's Zoo table,
    generated from every recipe's resolved config, holds the before-and-after comparison of steps, batch and lr."""
    spec = _recipes(registry)[name]
    settings = check_layout(spec.settings, name, recipe_key=False)
    dataset = registry.get("dataset", settings["dataset"]["name"])
    assert not _repeated(dict(spec.settings), dataset.suggested), f"recipe '{name}' repeats its dataset's suggestions"
    resolved = resolve_config(registry, {}, recipe=name).to_dict()
    components = [(slot.kind, table["name"]) for slot in SLOTS.values() if not slot.suggestible
                  for table in (resolved[slot.name] if slot.many else [resolved[slot.name]])]
    overridden = {key for kind, component in components for key in registry.get(kind, component).suggested}
    left_out = {k: v for k, v in dataset.suggested.items() if k not in spec.settings and k not in overridden}
    assert {k: resolved[k] for k in left_out} == pytest.approx(left_out), name


def test_precedence_suggestions_then_recipe_then_file_then_flags(registry, tmp_path):
    plain = resolve_config(registry, {"dataset": "sine"})
    assert plain.ema == 0.99  # the dataset suggests an EMA...
    recipe = resolve_config(registry, {}, recipe="sine-gan")
    assert recipe.ema is None and recipe.steps == 9600 and recipe.generator.params["hidden"] == [16, 32]  # ...recipe
    file = tmp_path / "c.toml"
    file.write_text('steps = 500\nlatent_dim = 3\n[generator]\nname = "mlp"\nhidden = [8]\n')
    both = resolve_config(registry, {"latent_dim": 4}, config_file=file, sets=["discriminator.dropout=0.1"],
                          recipe="sine-gan")
    assert (both.steps, both.latent_dim, both.batch_size) == (500, 4, 32)  # file > recipe, flag > file
    assert both.generator.params["hidden"] == [8] and both.generator.params["slope"] == 0.0  # recipe's slope kept
    assert both.discriminator.params["dropout"] == 0.1 and both.discriminator.params["hidden"] == [256, 128, 64]
    other = resolve_config(registry, {"generator": "upconv", "dataset": "mnist"}, recipe="keras-mnist")
    assert other.generator.name == "upconv" and "hidden" not in other.generator.params  # params follow their mix
    # a config file can start from a recipe too
    file.write_text('recipe = "parabola-gan"\nsteps = 7\n')
    from_file = resolve_config(registry, {}, config_file=file)
    assert (from_file.recipe, from_file.steps, from_file.latent_dim) == ("parabola-gan", 7, 5)


def test_config_toml_of_a_recipe_run_stands_on_its_own(registry, tmp_path):
    # "off" must survive the round trip: a missing ema would let the recipe's 0.99 back in
    cfg = resolve_config(registry, {"ema": 0.0, "steps": 5}, recipe="parabola-best")
    assert cfg.ema is None
    path = tmp_path / "config.toml"
    path.write_text(cfg.to_toml())
    assert resolve_config(registry, {}, config_file=path) == cfg


def test_recipes_command_lists_and_documents_them(invoke):
    listing = json.loads(invoke("recipes", "--json").stdout)
    names = [r["name"] for r in listing]
    assert names == BUILTIN and all(r["error"] is None for r in listing)
    upconv = listing[names.index("upconv-maxpool-mnist")]
    assert upconv["resolved"]["generator"]["kernel"] == 5 and upconv["citation"].startswith("jacobgil")
    table = invoke("recipes").stdout
    assert "keras-mnist" in table and "--recipe NAME" in table
    markdown = invoke("recipes", "--markdown").stdout
    readme = (ROOT / "README.md").read_text()
    assert markdown in readme, "README's Zoo table is stale: regenerate it with `ganzoo recipes --markdown`"


def test_third_party_recipes_conflicts_and_mistakes(registry, plugin, invoke, tmp_path):
    class Mine:
        @hookimpl
        def ganzoo_recipes(self):
            yield RecipeSpec("tiny-sine", "Small sine run.", "my notebook", {"dataset": "sine", "steps": 3})
            yield RecipeSpec("keras-mnist", "Shadows a built-in.", "nobody", {"steps": 1})
            yield RecipeSpec("broken", "Bad values.", "nobody", {"generator": {"name": "mlp", "hiden": [8]}})
            yield RecipeSpec("bad-option", "Bad option.", "nobody", {"stpes": 3})

    plugin(Mine(), name="mine")
    assert resolve_config(registry, {}, recipe="tiny-sine").steps == 3
    assert "recipes" in next(p for p in registry.plugins() if p.name == "mine").provides
    assert resolve_config(registry, {}, recipe="ganzoo:keras-mnist").steps == 60_000
    cases = [
        (["--recipe", "keras-mnist"], "recipe 'keras-mnist' is provided by 2 plugins"),
        (["--recipe", "tiny-sin"], "unknown recipe 'tiny-sin'; did you mean 'tiny-sine'?"),
        (["--recipe", "broken"], "recipe 'broken' (plugin 'mine'): generator 'mlp' has no parameter 'hiden'; "
                                 "did you mean 'hidden'?"),
        (["--recipe", "bad-option"], "recipe 'bad-option' (plugin 'mine'): unknown key 'stpes'; did you mean 'steps'?"),
    ]
    for args, message in cases:
        result = invoke("train", *args, "--out", tmp_path / "never", expect=1)
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()
    listing = {r["name"]: r for r in recipe_rows()}
    assert "hiden" in listing["broken"]["error"] and listing["tiny-sine"]["error"] is None
    assert "error: recipe 'broken'" in recipes_markdown([listing["broken"]])


def test_recipe_records_are_checked_and_resume_refuses_a_recipe(invoke, tmp_path):
    with pytest.raises(ValueError, match="citation must be one non-empty line"):
        RecipeSpec("x", "ok", "", {})
    with pytest.raises(TypeError, match="settings must be a mapping"):
        RecipeSpec("x", "ok", "cite", [("steps", 1)])
    invoke("train", "--recipe", "parabola-gan", "--steps", "2", "--set", "dataset.n=64", "--out", tmp_path / "r",
           "-q")
    result = invoke("train", "--resume", tmp_path / "r", "--recipe", "sine-gan", "--steps", "4", expect=1)
    assert "cannot use --recipe when resuming" in result.stderr
    invoke("train", "--resume", tmp_path / "r", "--steps", "4", "-q")  # the saved recipe name is no obstacle
    assert read_toml(tmp_path / "r" / "config.toml")["recipe"] == "parabola-gan"
