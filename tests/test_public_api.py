"""The public API has no traps: the entry points show their real signatures, return what the CLI prints, and an
in-process plugin registers in one call."""

from __future__ import annotations

import inspect

import pytest

import ganzoo
from ganzoo import GeneratorSpec, hookimpl
from ganzoo.registry.registry import default_registry, reset_default_registry


def test_the_entry_points_are_the_api_functions_with_their_signatures():
    from ganzoo import api

    assert ganzoo.train is api.train and ganzoo.evaluate is api.evaluate and ganzoo.sample is api.sample
    params = inspect.signature(ganzoo.train).parameters
    assert list(params)[:4] == ["generator", "discriminator", "loss", "dataset"] and "resume" in params
    assert inspect.signature(ganzoo.evaluate).return_annotation in (dict[str, float], "dict[str, float]")
    assert {"train", "sample", "evaluate", "register", "RunResult"} <= set(dir(ganzoo))
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        ganzoo.trian  # noqa: B018


def test_results_and_divergence_are_exported():
    from ganzoo.training.result import RunResult

    assert ganzoo.RunResult is RunResult and issubclass(ganzoo.TrainingDiverged, ganzoo.GanzooError)
    assert {"RunResult", "TrainingDiverged", "register"} <= set(ganzoo.__all__)


class _Notebook:
    @hookimpl
    def ganzoo_generators(self):
        yield GeneratorSpec(name="notebook-g", description="a generator defined in a notebook",
                            factory=lambda latent_dim, data: None)


def test_register_adds_an_in_process_plugin_to_the_process_wide_registry():
    reset_default_registry()
    try:
        info = ganzoo.register(_Notebook(), "notebook")
        assert info.name == "notebook"
        names = {p.spec.name for p in default_registry().components("generators")}
        assert "notebook-g" in names and "mlp" in names  # the installed plugins are there too
    finally:
        reset_default_registry()


def test_the_step_context_has_one_name_and_the_old_one_warns():
    assert "LossContext" not in ganzoo.__all__
    with pytest.warns(DeprecationWarning, match="now ganzoo.StepContext"):
        assert ganzoo.LossContext is ganzoo.StepContext
