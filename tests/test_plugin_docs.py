"""The plugin guide keeps up with the code: every hook in ``ganzoo.registry.hookspecs`` is documented with its
signature and every field of the record it yields, so a new hook cannot ship undocumented, and the guide's field
tables are the records' docstrings, rendered."""

from __future__ import annotations

import dataclasses
import inspect
import math
import re
import typing
from pathlib import Path

import pytest

from ganzoo import Mix, Param, SampleContext, StepContext
from ganzoo.registry import fielddocs, hookspecs
from ganzoo.registry.kinds import KINDS
from ganzoo.registry.specs import ComponentSpec

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text()
#: Every record whose fields the guide describes: the fields all components share, each kind's record, Param and
#: the step's context.
RECORDS = [ComponentSpec, *(kind.record for kind in KINDS.values()), Param, StepContext, SampleContext, Mix]
#: Fields plugins never set or read (none now: even the ones ganzoo sets are described).
UNDOCUMENTED: set[tuple[type, str]] = set()


def _hooks() -> dict[str, typing.Callable]:
    """Every function marked ``@hookspec`` (pluggy marks them with a ``ganzoo_spec`` attribute)."""
    return {name: fn for name, fn in vars(hookspecs).items()
            if inspect.isfunction(fn) and getattr(fn, "ganzoo_spec", None) is not None}


def _record_type(fn) -> type | None:
    """The record a hook yields, from its ``Iterable[Record]`` return annotation (None for hooks like commands)."""
    returned = typing.get_type_hints(fn).get("return")
    args = typing.get_args(returned)
    return args[0] if args and dataclasses.is_dataclass(args[0]) else None


def _section(signature: str) -> str:
    """The guide's text under the heading ``### `signature` `` up to the next heading."""
    match = re.search(rf"^### `{re.escape(signature)}`\n(.*?)(?=^#)", GUIDE + "\n#", re.M | re.S)
    assert match, f"docs/plugins.md has no section headed ### `{signature}`"
    return match.group(1)


def test_hooks_are_found():
    assert {"ganzoo_generators", "ganzoo_datasets", "ganzoo_commands"} <= set(_hooks())


@pytest.mark.parametrize("name", sorted(_hooks()))
def test_every_hook_is_documented_with_its_signature_and_record_fields(name):
    fn = _hooks()[name]
    signature = f"{name}({', '.join(inspect.signature(fn).parameters)})"
    section = _section(signature)
    record = _record_type(fn)
    if record is None:
        return
    assert f"`{record.__name__}`" in section, f"the section on {signature} does not name {record.__name__}"
    # fields shared by every component kind are documented once, in the table before the hooks
    shared = {f.name for f in dataclasses.fields(ComponentSpec)} if issubclass(record, ComponentSpec) else set()
    common = GUIDE.split("## The hooks")[0]
    for field in dataclasses.fields(record):
        where = common if field.name in shared else section
        assert f"`{field.name}`" in where, f"docs/plugins.md does not describe {record.__name__}.{field.name}"


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.__name__)
def test_every_record_field_has_a_bullet_in_its_docstring(record):
    """The docstring is where a field is described, once: a new field cannot ship without its bullet, and a bullet
    cannot outlive its field."""
    missing = {name for name in fielddocs.undocumented(record) if (record, name) not in UNDOCUMENTED}
    assert not missing, f"{record.__name__}'s docstring has no '- ``field``: meaning' bullet for {sorted(missing)}"
    named = {name for doc in fielddocs.field_docs(record, shared=True) for name in doc.names}
    stale = named - {f.name for f in dataclasses.fields(record)}
    assert not stale, f"{record.__name__}'s docstring describes fields it does not have: {sorted(stale)}"


def test_the_guides_field_tables_are_the_docstrings_rendered():
    tabled = [record for record in RECORDS if fielddocs.field_docs(record)]  # records with fields of their own
    assert sorted(fielddocs.marked(GUIDE)) == sorted(record.__name__ for record in tabled)  # each table, once
    for record in tabled:
        assert fielddocs.table(record) in GUIDE, (f"docs/plugins.md's table of {record.__name__} differs from its "
                                                  f"docstring: run `python -m ganzoo.registry.fielddocs`")


def test_rendering_turns_rst_bullets_into_markdown_rows():
    class Record:
        """Intro, not a field.

        - ``a``, ``b``: two fields, see :class:`ganzoo.DOutput` and ``x | y``,
          over two lines.
        - ``c``: one; ``d``: another after a semicolon.

        Prose again, not a field.
        """

    assert fielddocs.table(Record).splitlines() == [
        "| field | meaning |", "| --- | --- |",
        "| `a`, `b` | two fields, see `ganzoo.DOutput` and `x \\| y`, over two lines. |",
        "| `c` | one |", "| `d` | another after a semicolon. |"]


def test_params_and_environment_are_documented():
    for field in dataclasses.fields(Param):
        assert field.name in GUIDE
    for variable in ("GANZOO_LOAD_PLUGINS", "GANZOO_STRICT_PLUGINS"):
        assert f"`{variable}" in GUIDE


def test_readme_shows_how_to_write_and_install_a_plugin():
    readme = (ROOT / "README.md").read_text()
    write = readme.split("### Write a plugin")[1].split("###")[0]
    for command in ("ganzoo new-plugin", "pip install -e", "ganzoo list"):
        assert command in write
    assert "### Install a plugin" in readme and "docs/plugins.md" in readme


def _examples() -> dict[str, str]:
    """The guide's Python example for each hook, from its section under "## The hooks"."""
    hooks = GUIDE.split("## The hooks")[1].split("\n## ")[0]
    parts = re.split(r"^### `(\w+)\(.*\)`$", hooks, flags=re.M)
    return {name: "\n".join(re.findall(r"```python\n(.*?)```", body, re.S)) for name, body in zip(parts[1::2],
                                                                                               parts[2::2])}


def test_every_hook_has_a_python_example():
    examples = _examples()
    assert set(examples) == set(_hooks())
    assert all(code.strip() for code in examples.values()), [n for n, c in examples.items() if not c.strip()]


def test_the_guides_examples_run_and_train_together(plugin, registry, invoke, tiny_mnist, tmp_path):
    """Every example, executed as the guide shows it, registered as a plugin: its components train in one mix."""
    import types

    import ganzoo

    for hook, code in _examples().items():
        module = types.ModuleType(f"guide_{hook}")
        exec(compile(code, f"docs/plugins.md ({hook})", "exec"), module.__dict__)
        plugin(module, name=f"guide-{hook}")
    assert {p.status for p in registry.plugins()} == {"ok"}
    run = ganzoo.train("one-layer-c", "small-critic", "rahinge", "two-moons", opt="adagrad", reg=["gp0"],
                       constraint=["row-max-norm"], steps=8, batch_size=16, eval_every=8, eval_samples=64,
                       log_every=4, report=["csv"], out=tmp_path / "mix")
    assert run.step == 8 and math.isfinite(run.final["d_loss"]) and "centre_gap" in run.metrics
    assert run.final["gp0_d"] >= 0  # the lazy regulariser ran (every 4 D updates)
    for every in (1, 4):  # the example works as an eager and as a lazy regulariser: one step contract for both
        again = ganzoo.train("one-layer-c", "small-critic", "rahinge", "two-moons",
                             reg=[{"name": "gp0", "every": every}], steps=4, batch_size=16,
                             out=tmp_path / f"gp0-{every}")
        assert again.step == 4 and math.isfinite(again.final["gp0_d"])
    assert (tmp_path / "mix" / "losses.csv").read_text().splitlines()[0::2] == ["step,d_loss,g_loss",
                                                                                f"8,{run.final['d_loss']},{run.final['g_loss']}"]
    assert ganzoo.sample(run.run_dir, 5, label=1).shape == (5, 2)
    assert ganzoo.sample(run.run_dir, 6, sampler="antithetic").shape == (6, 2)  # the guide's sampler
    assert max(p.renorm(2, 0, 1.0).sub(p).abs().max().item() for p in run.discriminator.parameters()
               if p.dim() == 2) < 1e-6  # every row within the max norm
    flipped = ganzoo.train("mlp", "mlp", "nonsaturating", "mnist", augment=["flip"], steps=2, batch_size=8,
                           set=[f"dataset.root={tiny_mnist}", "dataset.download=false", "generator.hidden=16"],
                           out=tmp_path / "flip")
    assert flipped.step == 2
    assert ganzoo.train(recipe="parabola-wgan", steps=3, set=["dataset.n=64"], out=tmp_path / "recipe").step == 3
    assert invoke("hello").stdout == "hello from my plugin\n"
    class Wide:
        @ganzoo.hookimpl
        def ganzoo_datasets(self):
            yield ganzoo.DatasetSpec(name="wide", factory=lambda: None, description="12-D points.",
                                     shape=lambda: ganzoo.DataSpec("points", (12,)))

    plugin(Wide(), name="wide-data")
    from ganzoo.config import resolve_config

    config = resolve_config(registry, {"dataset": "wide"})  # the guide's defaults record applies to it
    assert config.steps == 10_000 and config.generator.params["hidden"] == [256, 256]


def test_the_building_blocks_example_runs_and_trains(plugin, registry, tmp_path):
    """The guide's mlp_stack example, executed as shown: its generator registers, refuses a bad width in one line
    and trains."""
    import types

    import torch

    import ganzoo

    section = GUIDE.split("## Building blocks")[1].split("\n## ")[0]
    module = types.ModuleType("guide_blocks")
    code = "\n".join(re.findall(r"```python\n(.*?)```", section, re.DOTALL))
    exec(compile(code, "docs/plugins.md (blocks)", "exec"), module.__dict__)  # noqa: S102 - the guide's own code
    plugin(module, name="guide-blocks")
    spec = registry.get("generator", "stack")
    with pytest.raises(ganzoo.ParameterError, match="generator 'stack': every item of 'hidden' must be >= 1"):
        spec.resolve({"hidden": [8, 0]})
    g = spec.factory(4, ganzoo.DataSpec("points", (2,)), **spec.resolve({"batchnorm": True}))
    assert [type(m).__name__ for m in g.net] == ["Linear", "LeakyReLU", "Linear", "BatchNorm1d", "LeakyReLU",
                                                 "Linear"]
    assert g(torch.randn(5, 4)).shape == (5, 2)
    run = ganzoo.train("stack", "mlp", "nonsaturating", "parabola", steps=4, batch_size=16, log_every=2,
                       set=["dataset.n=64"], out=tmp_path / "run")
    assert run.step == 4 and math.isfinite(run.final["g_loss"])
