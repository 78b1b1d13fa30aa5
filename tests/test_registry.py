"""The registry: in-process plugins, isolation of broken plugins, conflicts and name resolution."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint

import pytest

from ganzoo import (
    ConflictError,
    DiscriminatorSpec,
    GeneratorSpec,
    Param,
    PluginError,
    UnknownComponentError,
    hookimpl,
)
from ganzoo.registry.registry import Registry


def _gen(name="tiny", aliases=()):
    return GeneratorSpec(name=name, aliases=aliases, factory=lambda latent_dim, data: None,
                         description="a test generator", params=(Param("width", int, 4, "w"),))


class TinyPlugin:
    @hookimpl
    def ganzoo_generators(self):
        yield _gen()


class RaisingPlugin:
    @hookimpl
    def ganzoo_generators(self):
        raise RuntimeError("boom in the hook")


class MalformedPlugin:
    @hookimpl
    def ganzoo_generators(self):
        return [{"name": "dict-is-not-a-record"}]


class WrongKindPlugin:
    @hookimpl
    def ganzoo_generators(self):
        yield DiscriminatorSpec(name="oops", factory=lambda data: None, description="a D in the G hook")


def test_builtins_are_found_through_entry_points(registry):
    plugins = {p.name: p for p in registry.plugins()}
    assert {"mlp", "conv", "losses", "points", "mnist", "metrics"} <= set(plugins)
    assert all(p.builtin and p.status == "ok" and p.dist == "ganzoo" for p in plugins.values())
    assert registry.get("generator", "mlp").name == "mlp"
    assert registry.get("losses", "minimax").name == "bce"  # alias, plural kind


def test_in_process_plugin_appears_and_goes(plugin, registry, invoke):
    plugin(TinyPlugin(), name="tiny")
    listing = json.loads(invoke("list", "generators", "--json").stdout)
    assert "tiny" in [g["name"] for g in listing["generators"]]
    registry.unregister("tiny")
    listing = json.loads(invoke("list", "generators", "--json").stdout)
    assert "tiny" not in [g["name"] for g in listing["generators"]]


class CommandPlugin:
    @hookimpl
    def ganzoo_commands(self, cli):
        @cli.command("greet")
        def greet():
            """Say hello."""
            print("hello from a command")

        @cli.command("train")
        def train():
            """Try to take a built-in command's name."""
            print("not the real train")


def test_plugin_commands_follow_the_registry_whatever_ran_before(plugin, registry, invoke):
    """The CLI group lives as long as the process, the registry changes under it: a plugin registered after the CLI
    first looked up plugin commands still adds its own, and takes them away when it goes (tests in any order)."""
    assert "no command 'greet'" in invoke("greet", expect=2).stderr  # the CLI has looked for plugin commands
    plugin(CommandPlugin(), name="commands")
    assert invoke("greet").stdout == "hello from a command\n"
    assert "greet" in invoke("--help").stdout
    assert "not the real train" not in invoke("train", "--help").stdout  # a built-in command keeps its name
    registry.unregister("commands")
    assert "no command 'greet'" in invoke("greet", expect=2).stderr


def test_unknown_names_suggest_the_closest(registry):
    with pytest.raises(UnknownComponentError, match="unknown generator 'mpl'; did you mean 'mlp'"):
        registry.get("generator", "mpl")
    with pytest.raises(UnknownComponentError, match="did you mean 'generators'"):
        registry.get("generatrs", "mlp")


@pytest.mark.parametrize(
    "bad, error",
    [(RaisingPlugin, "boom in the hook"), (MalformedPlugin, "not a ganzoo.GeneratorSpec"),
     (WrongKindPlugin, "DiscriminatorSpec")],
)
def test_a_broken_hook_is_isolated(bad, error, plugin, invoke):
    plugin(bad(), name="bad")
    result = invoke("list", "--json")  # still works
    names = [g["name"] for g in json.loads(result.stdout)["generators"]]
    assert "mlp" in names and "oops" not in names
    assert result.stderr.count("\n") == 1 and "plugin 'bad'" in result.stderr and error in result.stderr
    status = {p["name"]: p for p in json.loads(invoke("plugins", "--json").stdout)}
    assert status["bad"]["status"] == "error" and error in status["bad"]["error"]


def test_a_plugin_that_fails_to_import_is_isolated(monkeypatch):
    monkeypatch.delenv("GANZOO_LOAD_PLUGINS")
    warnings = []
    registry = Registry(warn=warnings.append)
    registry.load_entry_points([
        EntryPoint("missing", "ganzoo_no_such_module_xyz", "ganzoo"),
        EntryPoint("mlp", "ganzoo_builtins.mlp", "ganzoo"),
    ])
    info = {p.name: p for p in registry.plugins()}
    assert info["missing"].status == "error" and "ModuleNotFoundError" in info["missing"].error
    assert registry.get("generator", "mlp").name == "mlp"
    assert len(warnings) == 1 and "plugin 'missing'" in warnings[0]


def test_strict_mode_raises_one_line_with_the_cause(monkeypatch):
    monkeypatch.delenv("GANZOO_LOAD_PLUGINS")
    registry = Registry(strict=True)
    with pytest.raises(PluginError, match="plugin 'missing' failed to load: ModuleNotFoundError") as raised:
        registry.load_entry_points([EntryPoint("missing", "ganzoo_no_such_module_xyz", "ganzoo")])
    assert isinstance(raised.value.__cause__, ModuleNotFoundError)


def test_misspelled_hook_is_reported(monkeypatch, tmp_path):
    (tmp_path / "ganzoo_typo_plugin.py").write_text(
        "from ganzoo import hookimpl\n\n@hookimpl\ndef ganzoo_generatorz():\n    return []\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("GANZOO_LOAD_PLUGINS")
    warnings = []
    registry = Registry(warn=warnings.append)
    registry.load_entry_points([EntryPoint("typo", "ganzoo_typo_plugin", "ganzoo")])
    assert registry.plugins()[0].status == "error"
    assert "ganzoo_generatorz" in warnings[0]
    assert not registry.pm.is_registered(__import__("ganzoo_typo_plugin"))


def test_duplicate_names_raise_a_conflict_naming_both_providers(plugin, registry, invoke):
    plugin(TinyPlugin(), name="one", dist="first-plugin", version="1.0")

    class Second:
        @hookimpl
        def ganzoo_generators(self):
            yield _gen(aliases=("small",))

    plugin(Second(), name="two", dist="second_plugin", version="2.3")
    with pytest.raises(ConflictError) as err:
        registry.get("generator", "tiny")
    message = str(err.value)
    assert "first-plugin 1.0" in message and "second_plugin 2.3" in message
    assert "'first-plugin:tiny'" in message and "GANZOO_LOAD_PLUGINS" in message
    # a qualified name picks one; the alias is unique and resolves
    assert registry.get("generator", "second-plugin:tiny") is not registry.get("generator", "first-plugin:tiny")
    assert registry.get("generator", "small").name == "tiny"
    # the CLI reports the conflict as one line, and `ganzoo list` marks it
    result = invoke("train", "-g", "tiny", "--steps", "1", expect=1)
    assert result.stderr.startswith("error: generator 'tiny' is provided by 2 plugins")
    listing = json.loads(invoke("list", "generators", "--json").stdout)["generators"]
    assert [g["conflict"] for g in listing if g["name"] == "tiny"] == [True, True]


def test_a_duplicate_within_builtins_and_a_plugin(plugin, registry):
    class ShadowMLP:
        @hookimpl
        def ganzoo_generators(self):
            yield _gen(name="mlp")

    plugin(ShadowMLP(), name="shadow", dist="shadow-dist", version="0.1")
    with pytest.raises(ConflictError, match="ganzoo 0.1.0.*shadow-dist 0.1|shadow-dist 0.1.*ganzoo"):
        registry.get("generator", "mlp")
    assert registry.get("generator", "ganzoo:mlp").params[0].name == "hidden"


def test_load_plugins_allowlist_skips_other_distributions(monkeypatch):
    class FakeDist:
        name, version = "someone-else", "9.9"

    ep = EntryPoint("other", "ganzoo_builtins.mlp", "ganzoo")
    object.__setattr__(ep, "dist", FakeDist())
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "not-that-one")
    registry = Registry()
    registry.load_entry_points([ep])
    assert registry.plugins()[0].status == "skipped"
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "Someone_Else")
    registry = Registry()
    registry.load_entry_points([ep])
    assert registry.plugins()[0].status == "ok"


def test_records_validate_themselves():
    with pytest.raises(ValueError, match="lower case"):
        _gen(name="Bad Name")
    with pytest.raises(ValueError, match="one non-empty line"):
        GeneratorSpec(name="x", factory=print, description="two\nlines")
    with pytest.raises(TypeError, match="not callable"):
        GeneratorSpec(name="x", factory="nope", description="d")


def test_a_qualified_name_trains_through_a_conflict(plugin, registry, tmp_path):
    import ganzoo

    spec = registry.get("loss", "bce")

    class ShadowLoss:
        @hookimpl
        def ganzoo_losses(self):
            yield type(spec)(name="bce", factory=spec.factory, description="a second bce", params=spec.params)

    plugin(ShadowLoss(), name="shadow", dist="shadow-losses", version="1.0")
    result = ganzoo.train(loss="ganzoo:bce", steps=3, set=["dataset.n=64"], out=tmp_path / "run")
    assert result.step == 3
    saved = (tmp_path / "run" / "config.toml").read_text()
    assert 'name = "ganzoo:bce"' in saved  # stored qualified, so resume and sample resolve it again
    assert ganzoo.sample(tmp_path / "run", 5).shape == (5, 2)


def test_two_entry_points_naming_one_module_keep_the_first(monkeypatch):
    monkeypatch.delenv("GANZOO_LOAD_PLUGINS")
    registry = Registry(warn=lambda line: None)
    registry.load_entry_points([EntryPoint("mlp", "ganzoo_builtins.mlp", "ganzoo"),
                                EntryPoint("again", "ganzoo_builtins.mlp", "ganzoo")])
    info = {p.name: p for p in registry.plugins()}
    assert info["mlp"].status == "ok" and info["mlp"].provides["generators"] == ["mlp"]
    assert info["again"].status == "skipped" and "same module" in info["again"].error


class _AnotherMlp:
    """A third-party plugin that also names its generator ``mlp``."""

    @hookimpl
    def ganzoo_generators(self):
        from torch import nn

        yield GeneratorSpec(name="mlp", description="someone else's mlp",
                            factory=lambda latent_dim, data: nn.Sequential(nn.Linear(latent_dim, data.shape[0])))


def test_a_third_party_mlp_leaves_the_default_run_alone_and_is_reachable_by_its_plugin_name(plugin, invoke,
                                                                                            tmp_path):
    from ganzoo.config.toml import read_toml

    plugin(_AnotherMlp(), name="other-zoo", dist="ganzoo-other", version="1.0")
    invoke("train", "--steps", "2", "--set", "dataset.n=32", "--sample-every", "0", "-q", "--out", tmp_path / "a")
    assert read_toml(tmp_path / "a" / "config.toml")["generator"]["name"] == "ganzoo:mlp"  # the built-in
    result = invoke("train", "-g", "mlp", "--steps", "2", "--out", tmp_path / "b", expect=1)
    assert "generator 'mlp' is provided by 2 plugins" in result.stderr  # a name the user typed is never guessed
    for qualified in ("other-zoo:mlp", "ganzoo-other:mlp"):  # the plugin's name, or its distribution's
        invoke("train", "-g", qualified, "--steps", "2", "--set", "dataset.n=32", "--sample-every", "0", "-q",
               "--out", tmp_path / qualified.replace(":", "-"))


class _ReturnsAString:
    @hookimpl
    def ganzoo_generators(self):
        return "mlp"


def test_a_hook_that_returns_instead_of_yielding_is_named_as_such(registry, plugin, capsys):
    plugin(_ReturnsAString(), name="returns-a-string")
    registry.components("generators")
    err = capsys.readouterr().err
    assert "ganzoo_generators() returned str 'mlp', not records: yield each ganzoo.GeneratorSpec" in err
